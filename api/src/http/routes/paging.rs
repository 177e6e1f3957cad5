//! The query words every list shares: `limit` (1 to 200, default 50) and an id `cursor` (the
//! last id of the previous page).

use kairos_domain::ErrorCode;
use kairos_domain::parse_id;

use crate::http::error::ApiError;

pub fn page_limit(limit: Option<u32>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery, "limit must be between 1 and 200"));
    }
    Ok(i64::from(limit))
}

/// An id cursor this API returned, in canonical form.
pub fn id_cursor(cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    cursor
        .map(|c| {
            parse_id(c).ok_or_else(|| {
                ApiError::bad_request(ErrorCode::InvalidCursor, "cursor is not a next_cursor this API returned")
            })
        })
        .transpose()
}

/// An optional id filter (`market_id=`…), in canonical form.
pub fn id_filter(name: &'static str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            parse_id(v).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidQuery, format!("{name} must be a UUID")))
        })
        .transpose()
}
