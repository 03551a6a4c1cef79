//! Shard selection for a sharded tier: rendezvous (highest random weight)
//! hashing, as ccache does for `shards=` (ccache manual, "Remote storage
//! backends"), so adding or removing a shard moves only that shard's share
//! of the keys.
//!
//! Weighted scores use the logarithmic method of Schindelhauer and
//! Schomaker ("Weighted Distributed Hash Tables", SPAA 2005; the formula
//! ccache's `Storage.cpp` and the Wikipedia article "Rendezvous hashing",
//! section "Weighted rendezvous hash", use): with `u` a hash of (shard,
//! key) mapped uniformly into the open interval (0, 1), shard `i` scores
//! `w_i / -ln(u)`, and the key goes to the highest score. `-ln(u)` is an
//! exponential variable of rate 1, so `-ln(u) / w_i` is exponential of rate
//! `w_i` and the smallest of them (the highest score) belongs to shard `i`
//! with probability `w_i / Σ w`. Each shard's score of a key depends only
//! on that shard and the key, so a new shard takes exactly the keys it
//! outscores and no key moves between the old shards.

use super::spec::Shard;

/// The index of the shard that holds `key`: the shard with the highest
/// weighted score `weight / -ln(u)`, where `u` in (0, 1) comes from
/// blake3(shard URL, key) (see the module documentation). Ties go to the
/// lower index. An empty `shards` yields 0.
pub(crate) fn pick(key: &str, shards: &[Shard]) -> usize {
    let mut best = 0;
    let mut best_score = f64::NEG_INFINITY;
    for (i, shard) in shards.iter().enumerate() {
        let score = shard.weight / -unit_hash(&shard.url, key).ln();
        if score > best_score {
            best = i;
            best_score = score;
        }
    }
    best
}

/// A number in the open interval (0, 1), uniform over keys: the first 53
/// bits of blake3(length of `url`, `url`, `key`), offset by half a step so
/// that neither 0 nor 1 can occur (both would make `ln` useless).
fn unit_hash(url: &str, key: &str) -> f64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(url.len() as u64).to_le_bytes());
    hasher.update(url.as_bytes());
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    let bits = u64::from_le_bytes(first) >> 11;
    (bits as f64 + 0.5) / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(name: &str, weight: f64) -> Shard {
        Shard {
            name: name.to_string(),
            url: format!("redis://cache-{name}.example.com"),
            weight,
        }
    }

    fn keys() -> impl Iterator<Item = String> {
        (0..10_000).map(|i| format!("{i:064x}"))
    }

    #[test]
    fn unit_hash_is_strictly_inside_zero_one() {
        for k in keys().take(1000) {
            let u = unit_hash("redis://a", &k);
            assert!(u > 0.0 && u < 1.0, "{u}");
        }
    }

    #[test]
    fn picks_are_deterministic() {
        let shards = [shard("a", 1.0), shard("b", 2.0), shard("c", 1.5)];
        for k in keys().take(1000) {
            assert_eq!(pick(&k, &shards), pick(&k, &shards));
        }
        assert_eq!(pick("anything", &shards[..1]), 0);
        assert_eq!(pick("anything", &[]), 0);
    }

    #[test]
    fn shares_follow_the_weights() {
        // ccache's manual example: a(3),b(1),c(1.5) → 55%, 18%, 27%.
        let shards = [shard("a", 3.0), shard("b", 1.0), shard("c", 1.5)];
        let mut counts = [0usize; 3];
        for k in keys() {
            counts[pick(&k, &shards)] += 1;
        }
        let total: f64 = shards.iter().map(|s| s.weight).sum();
        for (s, n) in shards.iter().zip(counts) {
            let expected = s.weight / total;
            let got = n as f64 / 10_000.0;
            assert!(
                (got - expected).abs() < 0.02,
                "{}: {got} vs {expected}",
                s.name
            );
        }
    }

    #[test]
    fn equal_weights_share_evenly() {
        let shards = [
            shard("a", 1.0),
            shard("b", 1.0),
            shard("c", 1.0),
            shard("d", 1.0),
        ];
        let mut counts = [0usize; 4];
        for k in keys() {
            counts[pick(&k, &shards)] += 1;
        }
        for n in counts {
            assert!((2250..=2750).contains(&n), "{counts:?}");
        }
    }

    #[test]
    fn a_new_shard_takes_only_its_share() {
        let old = vec![
            shard("a", 1.0),
            shard("b", 1.0),
            shard("c", 1.0),
            shard("d", 1.0),
        ];
        let mut new = old.clone();
        new.push(shard("e", 1.0));
        let mut moved = 0;
        for k in keys() {
            let (before, after) = (pick(&k, &old), pick(&k, &new));
            if before != after {
                assert_eq!(after, 4, "key {k} moved between old shards");
                moved += 1;
            }
        }
        // About 1/(n+1) = 20% of the keys move, all to the new shard.
        assert!((1750..=2250).contains(&moved), "{moved}");
    }

    #[test]
    fn removing_a_shard_moves_only_its_keys() {
        let all = vec![shard("a", 1.0), shard("b", 2.0), shard("c", 1.0)];
        let without_b = vec![all[0].clone(), all[2].clone()];
        for k in keys().take(2000) {
            let before = pick(&k, &all);
            let after = pick(&k, &without_b);
            if before != 1 {
                assert_eq!(all[before].name, without_b[after].name, "key {k}");
            }
        }
    }
}
