//! What a new database gets: the kill-switch row (trading on in `dev`/`test`, off in
//! `staging`/`prod` until operators enable it), and in `dev` a few sample markets on the paper
//! venue so a newcomer can trade at once. Seeds only ever fill what is empty.

use kairos_domain::{MarketStatus, NewMarket, Outcome, TradingState, Venue};
use kairos_platform::config::Profile;
use kairos_platform::storage::{Db, StorageError, markets, settings};

pub async fn run(db: &Db, profile: Profile) -> Result<(), StorageError> {
    let initial = if profile.is_local() { TradingState::Enabled } else { TradingState::Disabled };
    if settings::put_if_absent(db, TradingState::SETTINGS_KEY, initial.as_str()).await? {
        tracing::info!(trading = initial.as_str(), "new database: kill switch initialised");
    }
    if profile == Profile::Dev && markets::count(db).await? == 0 {
        for market in sample_markets() {
            markets::upsert(db, &market).await?;
        }
        tracing::info!("new dev database: seeded sample markets (is_sample = true)");
    }
    if profile == Profile::Dev {
        crate::tools::dev_quoter::seed_mirror(db).await?;
    }
    Ok(())
}

/// A binary paper market (YES/NO, tick 0.01, minimum 1) marked as a sample.
pub fn binary(slug: &str, question: &str) -> NewMarket {
    NewMarket {
        venue: Venue::Paper,
        external_id: Some(format!("sample:{slug}")),
        slug: slug.to_string(),
        question: question.to_string(),
        description: "Sample market seeded by the dev profile.".to_string(),
        status: MarketStatus::Open,
        tick_size: kairos_domain::Price::from_micros(10_000),
        min_size: kairos_domain::Size::from_micros(1_000_000),
        end_time_us: None,
        protocol: None,
        is_sample: true,
        outcomes: vec![
            Outcome { index: 0, label: "YES".to_string(), external_id: None },
            Outcome { index: 1, label: "NO".to_string(), external_id: None },
        ],
    }
}

pub fn sample_markets() -> Vec<NewMarket> {
    let mut cup = binary("sample-kairos-cup-2026", "Which team wins the 2026 Kairos Cup?");
    cup.outcomes = ["Lisbon", "Porto", "Braga", "Other"]
        .iter()
        .enumerate()
        .map(|(i, label)| Outcome {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            label: (*label).to_string(),
            external_id: None,
        })
        .collect();
    vec![
        binary("sample-btc-100k-2026", "Will BTC close above $100,000 on 31 December 2026?"),
        binary("sample-lisbon-snow-2026", "Will it snow in Lisbon in December 2026?"),
        cup,
    ]
}
