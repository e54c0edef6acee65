//! Tab completion of field names and of the attribute keys the store holds.

use std::collections::BTreeSet;

use super::Signal;
use crate::model::Attr;
use crate::store::Store;

/// Newest traces (and log records) whose keys are offered: enough to see every key a service
/// sends, bounded so a Tab press stays instant with millions held.
const SAMPLE_TRACES: usize = 2_000;
const SAMPLE_LOGS: usize = 10_000;

/// What Tab does to the query being typed.
#[derive(Debug, PartialEq, Eq)]
pub struct Completion {
    /// The query with its last word completed (as far as the candidates agree).
    pub text: String,
    /// Every candidate, when more than one fits (at most 50, sorted).
    pub candidates: Vec<String>,
}

/// Completes the last word of `input` (when it is a field name being typed, not a value).
#[must_use]
pub fn complete(signal: Signal, input: &str, store: &Store) -> Completion {
    let start = input
        .rfind(|c: char| c.is_whitespace() || matches!(c, '(' | '!'))
        .map_or(0, |i| {
            i + input[i..].chars().next().map_or(1, char::len_utf8)
        });
    let word = &input[start..];
    let unchanged = || Completion {
        text: input.to_owned(),
        candidates: Vec::new(),
    };
    if word.contains(['=', '<', '>', '~', '"', '\'']) {
        return unchanged();
    }
    let mut names: BTreeSet<String> = signal.fields().iter().map(|f| (*f).to_owned()).collect();
    let (scope, bare) = ["span.", "resource.", "event.", "."]
        .iter()
        .find_map(|p| word.strip_prefix(p).map(|rest| (*p, rest)))
        .unwrap_or(("", word));
    for key in keys(signal, store, scope) {
        if key.starts_with(bare) {
            names.insert(format!("{scope}{key}"));
        }
    }
    let fits: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with(word) && n != word)
        .collect();
    let Some(first) = fits.first() else {
        return unchanged();
    };
    let common = fits.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let mut text = input[..start].to_owned();
    text.push_str(if common.len() > word.len() {
        &common
    } else {
        word
    });
    Completion {
        text,
        candidates: if fits.len() > 1 {
            fits.into_iter().take(50).collect()
        } else {
            Vec::new()
        },
    }
}

/// Attribute keys held for a signal: resource keys always (unless another scope is asked
/// for), and the signal's own from a recent sample.
fn keys(signal: Signal, store: &Store, scope: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |attrs: &[Attr]| {
        for a in attrs {
            out.insert(store.str(a.key()).to_owned());
        }
    };
    if matches!(scope, "" | "." | "resource.") {
        for r in store.resources() {
            add(&r.attrs);
        }
    }
    if scope == "resource." {
        return out;
    }
    match signal {
        Signal::Traces => {
            for r in store.traces_by_arrival().rev().take(SAMPLE_TRACES) {
                let Some(t) = store.trace(r) else { continue };
                for s in t.spans() {
                    if scope != "event." {
                        add(&s.attrs);
                    }
                    if scope != "span." {
                        for e in s.events() {
                            add(&e.attrs);
                        }
                    }
                }
            }
        }
        Signal::Logs => {
            for (_, r) in store.logs.iter().rev().take(SAMPLE_LOGS) {
                add(&r.attrs);
            }
        }
        Signal::Metrics => {
            for m in 0..store.metrics.metrics().len() {
                let Ok(id) = u32::try_from(m) else { break };
                for (_, s) in store.metrics.series_of(id) {
                    add(&s.attrs);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use crate::store::tests::{batch, span};

    fn store() -> Store {
        let mut store = Store::new(100);
        let mut s = span(1, 1, 0, 0, 1, "GET /cart");
        s.attrs = vec![
            ("http.request.method".into(), Value::Str("GET".into())),
            ("http.route".into(), Value::Str("/cart".into())),
        ];
        store.ingest(batch("cart", vec![s]));
        store
    }

    #[test]
    fn completes_fields_and_held_keys() {
        let store = store();
        let c = complete(Signal::Traces, "status=error and dur", &store);
        assert_eq!(c.text, "status=error and duration");
        assert!(c.candidates.is_empty());
        // Two keys share "http.r": completed as far as they agree, both offered.
        let c = complete(Signal::Traces, "htt", &store);
        assert_eq!(c.text, "http.r");
        assert_eq!(c.candidates, vec!["http.request.method", "http.route"]);
        let c = complete(Signal::Traces, "(span.http.ro", &store);
        assert_eq!(c.text, "(span.http.route");
        // Resource keys under resource.
        let c = complete(Signal::Traces, "resource.serv", &store);
        assert_eq!(c.text, "resource.service.name");
        // Fields of the signal only.
        let c = complete(Signal::Logs, "sev", &store);
        assert_eq!(c.text, "severity");
        assert_eq!(complete(Signal::Traces, "sev", &store).text, "sev");
        // Values are not completed.
        assert_eq!(complete(Signal::Traces, "name=GE", &store).text, "name=GE");
    }
}
