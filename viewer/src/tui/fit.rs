//! Fitting a line of facts to the width there is: each part has a weight, and the lightest
//! (the rightmost first among equals) are left out until the line fits; an ending (`? help`)
//! always stays. Used by the status bar and the views' titles.

/// How much a part matters: the least are left out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    Low,
    Mid,
    High,
}

/// Joins the parts with ` · `, after a space and before `tail`, leaving out the lightest parts
/// until the text fits `width`; when only heavy parts are left and still too long, it is cut
/// with `…`, `tail` kept in view.
#[must_use]
pub fn fit(mut parts: Vec<(Weight, String)>, width: usize, tail: Option<&str>) -> String {
    let join = |parts: &[(Weight, String)]| {
        let mut items: Vec<&str> = parts.iter().map(|(_, p)| p.as_str()).collect();
        items.extend(tail);
        format!(" {}", items.join(" · "))
    };
    loop {
        let text = join(&parts);
        if text.chars().count() <= width {
            return text;
        }
        let lightest = parts.iter().map(|(w, _)| *w).min();
        let Some(pos) = lightest.and_then(|w| parts.iter().rposition(|(pw, _)| *pw == w)) else {
            return text.chars().take(width).collect();
        };
        if parts[pos].0 == Weight::High {
            // Only what matters is left: cut it, `tail` kept in view.
            let end = tail.map_or_else(String::new, |t| format!(" · {t}"));
            let items: Vec<&str> = parts.iter().map(|(_, p)| p.as_str()).collect();
            let body = format!(" {}", items.join(" · "));
            let keep = width.saturating_sub(end.chars().count() + 1);
            let cut: String = body.chars().take(keep).collect();
            return format!("{cut}…{end}");
        }
        parts.remove(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lightest_go_first_and_the_tail_stays() {
        let parts = || {
            vec![
                (Weight::High, "3 traces".to_owned()),
                (Weight::Low, "sort: time".to_owned()),
                (Weight::Mid, "newest 2s ago".to_owned()),
                (Weight::Low, "f pauses".to_owned()),
            ]
        };
        assert_eq!(
            fit(parts(), 80, Some("? help")),
            " 3 traces · sort: time · newest 2s ago · f pauses · ? help"
        );
        assert_eq!(
            fit(parts(), 40, Some("? help")),
            " 3 traces · newest 2s ago · ? help"
        );
        assert_eq!(fit(parts(), 20, None), " 3 traces");
        let cut = fit(vec![(Weight::High, "x".repeat(50))], 20, Some("? help"));
        assert!(
            cut.ends_with("… · ? help") && cut.chars().count() <= 20,
            "{cut}"
        );
    }
}
