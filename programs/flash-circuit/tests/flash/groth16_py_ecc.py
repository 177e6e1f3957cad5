"""An independent Groth16 check of what `flash export-vk` and `flash prove` print, with py_ecc
(a pure-Python BN254 that shares no code with arkworks or the alt_bn128 syscalls).

Reads {"vk": <export-vk>, "proof": {"a","b","c"}, "public_inputs": [...]} on stdin, where
proof.a is already negated (as `resolve` takes it). Parses every coordinate as EIP-197 does
(a 32-byte big-endian integer that must be below the field modulus), checks every point is on
its curve, and checks e(-A,B)·e(alpha,beta)·e(L,gamma)·e(C,delta) = 1 with
L = IC0 + sum(x_i·IC_{i+1}). Prints {"ok": true} or {"ok": false, "why": ...}; exits 0 either
way, 2 when the input cannot be read.
"""

import json
import sys

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import (
    add,
    b,
    b2,
    curve_order,
    field_modulus,
    final_exponentiate,
    is_on_curve,
    multiply,
    pairing,
)


class NotCanonical(Exception):
    pass


def coordinates(hex_text, count):
    raw = bytes.fromhex(hex_text[2:] if hex_text.startswith("0x") else hex_text)
    if len(raw) != 32 * count:
        raise NotCanonical(f"{len(raw)} bytes where {32 * count} were expected")
    values = [int.from_bytes(raw[i * 32 : (i + 1) * 32], "big") for i in range(count)]
    for v in values:
        if v >= field_modulus:
            raise NotCanonical(f"a coordinate is not below the field modulus: {hex(v)}")
    return values


def g1(hex_text):
    x, y = coordinates(hex_text, 2)
    p = (FQ(x), FQ(y), FQ.one())
    if not is_on_curve(p, b):
        raise NotCanonical("a G1 point is not on the curve")
    return p


def g2(hex_text):
    x1, x0, y1, y0 = coordinates(hex_text, 4)
    p = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not is_on_curve(p, b2):
        raise NotCanonical("a G2 point is not on the curve")
    if multiply(p, curve_order)[2] != FQ2.zero():
        raise NotCanonical("a G2 point is not in the subgroup")
    return p


def main():
    try:
        doc = json.load(sys.stdin)
        vk, proof, inputs = doc["vk"], doc["proof"], doc["public_inputs"]
    except (ValueError, KeyError) as e:
        print(json.dumps({"error": str(e)}))
        sys.exit(2)
    try:
        alpha, beta, gamma, delta = g1(vk["alpha_g1"]), g2(vk["beta_g2"]), g2(vk["gamma_g2"]), g2(vk["delta_g2"])
        ic = [g1(p) for p in vk["ic"]]
        a, bb, c = g1(proof["a"]), g2(proof["b"]), g1(proof["c"])
        xs = [int(x, 16) for x in inputs]
        if any(x >= curve_order for x in xs) or len(xs) + 1 != len(ic):
            raise NotCanonical("public inputs out of range or miscounted")
    except NotCanonical as e:
        print(json.dumps({"ok": False, "why": str(e)}))
        return
    acc = ic[0]
    for x, point in zip(xs, ic[1:]):
        acc = add(acc, multiply(point, x))
    product = FQ12.one()
    for q, p in [(bb, a), (beta, alpha), (gamma, acc), (delta, c)]:
        product = product * pairing(q, p, final_exponentiate=False)
    ok = final_exponentiate(product) == FQ12.one()
    print(json.dumps({"ok": ok} if ok else {"ok": False, "why": "the pairing equation does not hold"}))


if __name__ == "__main__":
    main()
