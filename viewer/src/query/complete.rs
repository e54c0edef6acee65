//! Tab completion of field names, of the attribute keys the store holds, and of values: the
//! services, span and metric names, kinds, statuses, severities and types, and the values held
//! for an attribute key. And a hint for a key no one sends ("did you mean service?").

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
    /// What a candidate follows: `base + candidate` is the query with that candidate chosen
    /// (a second Tab cycles through them).
    pub base: String,
}

/// Most values offered for one field.
const MAX_VALUES: usize = 200;

/// Completes the last word of `input` (when it is a field name being typed, not a value).
#[must_use]
pub fn complete(signal: Signal, input: &str, store: &Store) -> Completion {
    // The last word: after a space, `(`, or a `!` that negates (not the one of `!=`).
    let start = input
        .char_indices()
        .rev()
        .find(|&(i, c)| {
            c.is_whitespace() || c == '(' || (c == '!' && !input[i + 1..].starts_with('='))
        })
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &input[start..];
    let unchanged = || Completion {
        text: input.to_owned(),
        candidates: Vec::new(),
        base: input.to_owned(),
    };
    if let Some(op_at) = word.find(['=', '<', '>', '~', '!']) {
        // `field op partial`: complete the value.
        let field = &word[..op_at];
        let rest = &word[op_at..];
        let op_len = rest
            .find(|c: char| !matches!(c, '=' | '<' | '>' | '~' | '!'))
            .unwrap_or(rest.len());
        let partial = rest[op_len..].trim_start_matches(['"', '\'']);
        let base = format!("{}{field}{}", &input[..start], &rest[..op_len]);
        let values = values(signal, store, field);
        return choose(
            &base,
            partial,
            values.into_iter().map(|v| quoted(&v)),
            |v| v.trim_start_matches('"'),
        );
    }
    if word.contains(['"', '\'']) {
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
    choose(&input[..start], word, names.into_iter(), |n| n)
}

/// The candidates that start with `word` (as `key` reads them), completed as far as they
/// agree, after `base`.
fn choose(
    base: &str,
    word: &str,
    candidates: impl Iterator<Item = String>,
    key: impl Fn(&str) -> &str,
) -> Completion {
    let fits: Vec<String> = candidates
        .filter(|n| key(n).starts_with(word) && key(n) != word)
        .collect();
    let Some(first) = fits.first() else {
        return Completion {
            text: format!("{base}{word}"),
            candidates: Vec::new(),
            base: base.to_owned(),
        };
    };
    let common = fits.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let mut text = base.to_owned();
    text.push_str(if key(&common).len() > word.len() {
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
        base: base.to_owned(),
    }
}

/// A value as the query language reads it back: quoted when it holds anything but a word.
fn quoted(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':'));
    if plain {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The values offered for `field`: fixed sets for kinds, statuses, severities and types; the
/// services and names held; for an attribute key, the values held for it (a recent sample).
fn values(signal: Signal, store: &Store, field: &str) -> BTreeSet<String> {
    let fixed = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    match (signal, field) {
        (Signal::Traces, "kind") => fixed(&[
            "server",
            "client",
            "internal",
            "producer",
            "consumer",
            "unspecified",
        ]),
        (Signal::Traces, "status") => fixed(&["ok", "error", "unset"]),
        (Signal::Logs, "severity") => fixed(&["trace", "debug", "info", "warn", "error", "fatal"]),
        (Signal::Metrics, "type") => fixed(&[
            "gauge",
            "counter",
            "updown",
            "histogram",
            "exphistogram",
            "summary",
        ]),
        (_, "service" | "trace.service" | "rootServiceName") => store
            .resources()
            .iter()
            .map(|r| store.str(r.service).to_owned())
            .filter(|s| !s.is_empty())
            .take(MAX_VALUES)
            .collect(),
        (Signal::Traces, "name" | "trace.name" | "rootName") => {
            let mut out = BTreeSet::new();
            for r in store.traces_by_arrival().rev().take(SAMPLE_TRACES) {
                let Some(t) = store.trace(r) else { continue };
                for sp in t.spans() {
                    if out.len() >= MAX_VALUES {
                        return out;
                    }
                    out.insert(store.str(sp.name).to_owned());
                }
            }
            out
        }
        (Signal::Metrics, "metric") => store
            .metrics
            .metrics()
            .iter()
            .map(|m| store.str(m.name).to_owned())
            .take(MAX_VALUES)
            .collect(),
        (_, key) => {
            let (scope, bare) = ["span.", "resource.", "event.", "."]
                .iter()
                .find_map(|p| key.strip_prefix(p).map(|rest| (*p, rest)))
                .unwrap_or(("", key));
            let mut out = BTreeSet::new();
            each_attr(signal, store, scope, |a| {
                if out.len() < MAX_VALUES && store.str(a.key()) == bare {
                    out.insert(store.value_text(&a.value()).into_owned());
                }
            });
            out
        }
    }
}

/// A hint on a valid query: a field no one sends ("did you mean service?"), since such a
/// condition is false everywhere; `None` when every key is held.
#[must_use]
pub fn hint(signal: Signal, input: &str, store: &Store) -> Option<String> {
    let expr = super::parse(input).ok()??;
    let mut asked = Vec::new();
    walk(&expr, &mut |c| {
        if let super::Field::Attr { scope, key } = &c.field
            && *scope == super::AttrScope::Any
        {
            asked.push(key.clone());
        }
    });
    // Checked at every key typed: the held keys are gathered only when an attribute is asked
    // for (`service=…` alone costs nothing).
    if asked.is_empty() {
        return None;
    }
    let held = keys(signal, store, "");
    let key = asked.into_iter().find(|k| !held.contains(k))?;
    let nearest = signal
        .fields()
        .iter()
        .map(|f| f.trim_end_matches('.').to_owned())
        .chain(held.iter().cloned())
        .map(|c| (distance(&key, &c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min();
    Some(match nearest {
        Some((_, c)) => format!(
            "no field or attribute {:?}: did you mean {c}?",
            crate::format::safe(&key)
        ),
        None => format!(
            "no field or attribute {:?} is held yet (no match until one arrives)",
            crate::format::safe(&key)
        ),
    })
}

fn walk(e: &super::Expr, f: &mut impl FnMut(&super::Cond)) {
    match e {
        super::Expr::And(v) | super::Expr::Or(v) => v.iter().for_each(|e| walk(e, f)),
        super::Expr::Not(e) => walk(e, f),
        super::Expr::Cond(c) => f(c),
        super::Expr::Text(_) => {}
    }
}

/// Edit distance (Levenshtein) between two short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Attribute keys held for a signal: resource keys always (unless another scope is asked
/// for), and the signal's own from a recent sample.
fn keys(signal: Signal, store: &Store, scope: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    each_attr(signal, store, scope, |a| {
        out.insert(store.str(a.key()).to_owned());
    });
    out
}

/// Every attribute held for a signal in `scope`: the resources' (unless another scope is
/// asked for), and the signal's own from a recent sample.
fn each_attr(signal: Signal, store: &Store, scope: &str, mut f: impl FnMut(&Attr)) {
    let mut add = |attrs: &[Attr]| attrs.iter().for_each(&mut f);
    if matches!(scope, "" | "." | "resource.") {
        for r in store.resources() {
            add(&r.attrs);
        }
    }
    if scope == "resource." {
        return;
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
    }

    #[test]
    fn completes_values_and_cycles_through_them() {
        let mut store = store();
        let mut s = span(2, 1, 0, 0, 1, "GET /checkout");
        s.attrs = vec![("http.route".into(), Value::Str("/checkout now".into()))];
        store.ingest(batch("checkout", vec![s]));
        // Span names, quoted when they hold a space.
        let c = complete(Signal::Traces, "name=GE", &store);
        assert_eq!(c.text, "name=\"GET /c");
        assert_eq!(c.candidates, ["\"GET /cart\"", "\"GET /checkout\""]);
        assert_eq!(c.base, "name=");
        // Services, kinds, statuses.
        let c = complete(Signal::Traces, "status=error and service=ch", &store);
        assert_eq!(c.text, "status=error and service=checkout");
        assert_eq!(
            complete(Signal::Traces, "kind=se", &store).text,
            "kind=server"
        );
        assert_eq!(
            complete(Signal::Traces, "status!=e", &store).text,
            "status!=error"
        );
        assert_eq!(
            complete(Signal::Logs, "severity>=w", &store).text,
            "severity>=warn"
        );
        assert_eq!(
            complete(Signal::Metrics, "type=exp", &store).text,
            "type=exphistogram"
        );
        // The values held for an attribute key.
        let c = complete(Signal::Traces, "http.route=", &store);
        assert_eq!(c.candidates, ["/cart", "\"/checkout now\""]);
    }

    #[test]
    fn a_key_no_one_sends_gets_a_hint() {
        let store = store();
        let h = hint(Signal::Traces, "servce=kitchen", &store).unwrap();
        assert_eq!(h, "no field or attribute \"servce\": did you mean service?");
        let h = hint(Signal::Traces, "http.rout=/cart", &store).unwrap();
        assert!(h.contains("did you mean http.route?"), "{h}");
        assert!(hint(Signal::Traces, "http.route=/cart and service=x", &store).is_none());
        let h = hint(Signal::Traces, "zzzzzz=1", &store).unwrap();
        assert!(h.contains("is held yet"), "{h}");
    }
}
