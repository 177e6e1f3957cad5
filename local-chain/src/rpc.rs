//! The JSON-RPC 2.0 envelope: requests (single or batched), results and errors with the codes
//! Solana's RPC uses, so solana-client reads our answers as it reads a validator's.

use serde_json::{Value, json};

/// An error answer: `{"code","message","data"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self { code: -32602, message: message.into(), data: None }
    }

    pub fn method_not_found(method: &str) -> Self {
        Self { code: -32601, message: format!("Method not found: {method}"), data: None }
    }

    fn invalid_request() -> Self {
        Self { code: -32600, message: "Invalid request".into(), data: None }
    }

    /// A transaction refused by the preflight simulation (Solana's -32002), with the
    /// simulation's result as `data` so clients can read the `err`.
    pub fn preflight_failure(message: String, simulation: Value) -> Self {
        Self { code: -32002, message, data: Some(simulation) }
    }
}

/// One request's answer object for `id`.
pub fn answer(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => {
            let mut error = json!({ "code": e.code, "message": e.message });
            if let Some(data) = e.data {
                error["data"] = data;
            }
            json!({ "jsonrpc": "2.0", "id": id, "error": error })
        }
    }
}

/// A request's method, params and id; an error answer when it is not a request.
pub fn parse(request: &Value) -> Result<(String, Vec<Value>, Value), Value> {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return Err(answer(id, Err(RpcError::invalid_request())));
    };
    let params = match request.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(answer(id, Err(RpcError::invalid_params("params must be an array")))),
    };
    Ok((method.to_string(), params, id))
}

/// The `i`-th parameter as a string.
pub fn string_param(params: &[Value], i: usize, what: &str) -> Result<String, RpcError> {
    params
        .get(i)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| RpcError::invalid_params(format!("expected {what} as parameter {i}")))
}

/// The `i`-th parameter's config object (empty when absent).
pub fn config_param(params: &[Value], i: usize) -> Value {
    match params.get(i) {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    }
}
