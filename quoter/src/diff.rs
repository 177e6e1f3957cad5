//! The smallest set of actions from the orders resting to the quotes wanted: a resting order
//! equal to a wanted quote (side, price and size) stays; every other resting order is
//! cancelled and every unmet quote placed. The CLOB has no amend, so a size change is a cancel
//! and a place. Cancels come first, so the engine never holds both the old and the new order.

use crate::strategy::{Quote, Quotes};

/// An order the engine has resting, by its local id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resting {
    pub id: u64,
    pub quote: Quote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Cancel(u64),
    Place(Quote),
}

/// Writes into `out` (cleared first) the actions from `resting` to `wanted`.
pub fn diff(resting: &[Resting], wanted: &Quotes, out: &mut Vec<Action>) {
    out.clear();
    let wanted = wanted.as_slice();
    // Which wanted quotes a resting order already meets (each meets at most one).
    let mut met = [false; Quotes::CAPACITY];
    for r in resting {
        let keep = wanted.iter().enumerate().find(|(i, q)| !met[*i] && **q == r.quote);
        match keep {
            Some((i, _)) => met[i] = true,
            None => out.push(Action::Cancel(r.id)),
        }
    }
    for (i, q) in wanted.iter().enumerate() {
        if !met[i] {
            out.push(Action::Place(*q));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Side;

    fn q(side: Side, price: u32, size: u64) -> Quote {
        Quote { side, price, size }
    }

    fn wanted(qs: &[Quote]) -> Quotes {
        let mut out = Quotes::default();
        for x in qs {
            out.push(*x);
        }
        out
    }

    #[test]
    fn equal_orders_stay_and_the_rest_is_cancelled_then_placed() {
        let mut out = Vec::new();
        let bid = q(Side::Buy, 4_800, 10);
        let ask = q(Side::Sell, 5_200, 10);
        diff(&[], &wanted(&[bid, ask]), &mut out);
        assert_eq!(out, [Action::Place(bid), Action::Place(ask)]);

        let resting = [Resting { id: 1, quote: bid }, Resting { id: 2, quote: ask }];
        diff(&resting, &wanted(&[bid, ask]), &mut out);
        assert!(out.is_empty(), "nothing to do");

        let moved = q(Side::Sell, 5_100, 10);
        diff(&resting, &wanted(&[bid, moved]), &mut out);
        assert_eq!(out, [Action::Cancel(2), Action::Place(moved)]);

        let resized = q(Side::Buy, 4_800, 20);
        diff(&resting, &wanted(&[resized]), &mut out);
        assert_eq!(out, [Action::Cancel(1), Action::Cancel(2), Action::Place(resized)]);

        // Two equal resting orders meet one wanted quote: the second goes.
        let twice = [Resting { id: 1, quote: bid }, Resting { id: 3, quote: bid }];
        diff(&twice, &wanted(&[bid]), &mut out);
        assert_eq!(out, [Action::Cancel(3)]);

        diff(&resting, &Quotes::default(), &mut out);
        assert_eq!(out, [Action::Cancel(1), Action::Cancel(2)], "nothing wanted: cancel all");
    }
}
