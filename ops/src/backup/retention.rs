//! Which backups to keep: every copy for 48 hours, the last of each UTC day for 90 days, and the
//! last of each UTC month for 7 years. Every backup holds the whole database, so the monthly
//! copies keep the order, fill and ledger history for the 7 years the platform's regulatory
//! rule asks. The newest copy is never deleted, however old.

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

/// Every copy younger than this is kept.
pub const KEEP_ALL_FOR_US: i64 = 48 * HOUR_US;
/// The last copy of each day younger than this is kept.
pub const KEEP_DAILY_FOR_US: i64 = 90 * DAY_US;
/// The last copy of each month younger than this is kept (7 years of 365.25 days).
pub const KEEP_MONTHLY_FOR_US: i64 = 2_557 * DAY_US;

/// The indexes of `taken_at_us` (UTC epoch microseconds, any order) to delete at `now_us`.
pub fn to_delete(now_us: i64, taken_at_us: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..taken_at_us.len()).collect();
    // Newest first: the first copy seen of a day or month is its last one.
    order.sort_by_key(|&i| std::cmp::Reverse(taken_at_us[i]));
    let mut days_seen = std::collections::HashSet::new();
    let mut months_seen = std::collections::HashSet::new();
    let mut delete = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        let t = taken_at_us[i];
        let age = now_us.saturating_sub(t);
        let day = t.div_euclid(DAY_US);
        let month = month_of(t);
        let last_of_day = days_seen.insert(day);
        let last_of_month = months_seen.insert(month);
        let keep = rank == 0
            || age < KEEP_ALL_FOR_US
            || (last_of_day && age < KEEP_DAILY_FOR_US)
            || (last_of_month && age < KEEP_MONTHLY_FOR_US);
        if !keep {
            delete.push(i);
        }
    }
    delete.sort_unstable();
    delete
}

/// `year * 12 + month` of a UTC time.
fn month_of(us: i64) -> i64 {
    let date = time::OffsetDateTime::from_unix_timestamp(us.div_euclid(1_000_000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    i64::from(date.year()) * 12 + i64::from(u8::from(date.month()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-05T12:00:00Z
    const NOW: i64 = 1_796_472_000_000_000;

    fn kept(now: i64, taken: &[i64]) -> Vec<i64> {
        let delete = to_delete(now, taken);
        let mut kept: Vec<i64> = (0..taken.len()).filter(|i| !delete.contains(i)).map(|i| taken[i]).collect();
        kept.sort_unstable();
        kept
    }

    #[test]
    fn hourly_copies_for_two_days_then_one_a_day() {
        // A backup every hour for 5 days.
        let taken: Vec<i64> = (0..120).map(|h| NOW - h * HOUR_US).collect();
        let kept = kept(NOW, &taken);
        let recent = kept.iter().filter(|t| NOW - **t < KEEP_ALL_FOR_US).count();
        assert_eq!(recent, 48);
        // Older than 48 h: one per UTC day, the day's last.
        let older: Vec<i64> = kept.iter().copied().filter(|t| NOW - *t >= KEEP_ALL_FOR_US).collect();
        let days: std::collections::HashSet<i64> = older.iter().map(|t| t.div_euclid(DAY_US)).collect();
        assert_eq!(days.len(), older.len(), "one per day: {older:?}");
        for t in &older {
            let later_same_day = taken.iter().any(|t2| t2 > t && t2.div_euclid(DAY_US) == t.div_euclid(DAY_US));
            assert!(!later_same_day, "{t} is not its day's last");
        }
    }

    #[test]
    fn dailies_for_ninety_days_then_monthlies_for_seven_years() {
        let taken: Vec<i64> = (0..3_000).map(|d| NOW - d * DAY_US).collect();
        let kept = kept(NOW, &taken);
        let daily = kept.iter().filter(|t| NOW - **t < KEEP_DAILY_FOR_US).count();
        assert_eq!(daily, 90);
        let monthly: Vec<i64> = kept.iter().copied().filter(|t| NOW - *t >= KEEP_DAILY_FOR_US).collect();
        let months: std::collections::HashSet<i64> = monthly.iter().map(|t| month_of(*t)).collect();
        assert_eq!(months.len(), monthly.len(), "one per month");
        // 7 years back, less the 3 months covered by dailies, give or take the partial months.
        assert!((79..=82).contains(&monthly.len()), "{}", monthly.len());
        assert!(monthly.iter().all(|t| NOW - t < KEEP_MONTHLY_FOR_US));
    }

    #[test]
    fn the_newest_copy_is_kept_however_old() {
        let ten_years = 3_653 * DAY_US;
        assert_eq!(to_delete(NOW, &[NOW - ten_years, NOW - ten_years - DAY_US]), vec![1]);
        assert!(to_delete(NOW, &[]).is_empty());
    }
}
