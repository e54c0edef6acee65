//! Text to [`Expr`]: a small tokenizer and a recursive-descent parser (nesting is capped, so a
//! query of ten thousand parentheses is an error, not a stack overflow).

use super::{AttrScope, Cond, Expr, Field, Lit, Op, QueryError};

/// How deep parentheses and `not`s may nest.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(Op),
    Open,
    Close,
    And,
    Or,
    Not,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// Character positions: start and one past the end.
    at: usize,
    end: usize,
}

/// Characters that end a bare word.
fn breaks_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '=' | '!' | '<' | '>' | '~' | '"' | '\'')
}

fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let (tok, len) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            ('=', Some('~')) => (Tok::Op(Op::Regex), 2),
            ('=', Some('=')) => (Tok::Op(Op::Eq), 2),
            ('=', _) => (Tok::Op(Op::Eq), 1),
            ('!', Some('=')) => (Tok::Op(Op::Ne), 2),
            ('!', _) => (Tok::Not, 1),
            ('>', Some('=')) => (Tok::Op(Op::Ge), 2),
            ('>', _) => (Tok::Op(Op::Gt), 1),
            ('<', Some('=')) => (Tok::Op(Op::Le), 2),
            ('<', _) => (Tok::Op(Op::Lt), 1),
            ('~', _) => (Tok::Op(Op::Contains), 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            ('"' | '\'', _) => {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(QueryError::new(
                                start,
                                format!("this {quote} is never closed"),
                            ));
                        }
                        Some('\\') if j + 1 < chars.len() => {
                            s.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(&q) if q == quote => break,
                        Some(&ch) => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                (Tok::Quoted(s), j + 1 - i)
            }
            _ => {
                let mut j = i;
                while j < chars.len() && !breaks_word(chars[j]) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                let tok = match word.as_str() {
                    "and" | "AND" => Tok::And,
                    "or" | "OR" => Tok::Or,
                    "not" | "NOT" => Tok::Not,
                    _ => Tok::Word(word),
                };
                (tok, j - i)
            }
        };
        i += len;
        out.push(Token {
            tok,
            at: start,
            end: i,
        });
    }
    Ok(out)
}

/// Parses a query. An empty query (only spaces) is `Ok(None)`.
///
/// # Errors
/// What is wrong and where: an operator with no value, an unclosed quote or parenthesis, a
/// keyword with nothing after it, too deep a nesting.
pub fn parse(text: &str) -> Result<Option<Expr>, QueryError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        chars: &chars,
        depth: 0,
    };
    let expr = p.or()?;
    if let Some(t) = p.peek() {
        let what = if t.tok == Tok::Close {
            "this ) has no ( before it".to_owned()
        } else {
            format!("unexpected {}", describe(&t.tok))
        };
        return Err(QueryError::new(t.at, what));
    }
    Ok(Some(expr))
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    chars: &'a [char],
    depth: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("{w:?}"),
        Tok::Quoted(q) => format!("{q:?}"),
        Tok::Op(op) => format!("operator {}", op.as_str()),
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
        Tok::And => "and".into(),
        Tok::Or => "or".into(),
        Tok::Not => "not".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn end_at(&self) -> usize {
        self.chars.len()
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.and()?];
        while let Some(t) = self.peek() {
            if t.tok != Tok::Or {
                break;
            }
            let at = t.at;
            self.pos += 1;
            if self
                .peek()
                .is_none_or(|t| matches!(t.tok, Tok::Close | Tok::Or))
            {
                return Err(QueryError::new(at, "nothing after or"));
            }
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut terms: Vec<Expr> = Vec::new();
        // Bare words side by side make one phrase, written as typed.
        let mut phrase: Option<(usize, usize)> = None;
        while let Some(t) = self.peek() {
            match &t.tok {
                Tok::Or | Tok::Close => break,
                Tok::And => {
                    let at = t.at;
                    self.pos += 1;
                    if terms.is_empty() && phrase.is_none() {
                        return Err(QueryError::new(at, "nothing before and"));
                    }
                    if self
                        .peek()
                        .is_none_or(|t| matches!(t.tok, Tok::Close | Tok::Or | Tok::And))
                    {
                        return Err(QueryError::new(at, "nothing after and"));
                    }
                    if let Some((a, b)) = phrase.take() {
                        terms.push(Expr::Text(self.chars[a..b].iter().collect()));
                    }
                }
                Tok::Word(_) if !self.next_is_op() => {
                    let (at, end) = (t.at, t.end);
                    self.pos += 1;
                    phrase = Some(phrase.map_or((at, end), |(a, _)| (a, end)));
                }
                _ => {
                    if let Some((a, b)) = phrase.take() {
                        terms.push(Expr::Text(self.chars[a..b].iter().collect()));
                    }
                    terms.push(self.unary()?);
                }
            }
        }
        if let Some((a, b)) = phrase.take() {
            terms.push(Expr::Text(self.chars[a..b].iter().collect()));
        }
        match terms.len() {
            0 => {
                let at = self.peek().map_or(self.end_at(), |t| t.at);
                Err(QueryError::new(at, "expected a condition or a word here"))
            }
            1 => Ok(terms.pop().unwrap_or(Expr::And(Vec::new()))),
            _ => Ok(Expr::And(terms)),
        }
    }

    fn next_is_op(&self) -> bool {
        matches!(
            self.tokens.get(self.pos + 1),
            Some(Token {
                tok: Tok::Op(_),
                ..
            })
        )
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        let Some(t) = self.peek().cloned() else {
            return Err(QueryError::new(self.end_at(), "expected a condition here"));
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::new(t.at, "nested too deeply"));
        }
        let out = match t.tok {
            Tok::Not => {
                self.pos += 1;
                if self
                    .peek()
                    .is_none_or(|n| matches!(n.tok, Tok::Close | Tok::Or | Tok::And))
                {
                    return Err(QueryError::new(t.at, "nothing after not"));
                }
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Tok::Open => {
                self.pos += 1;
                if self.peek().is_some_and(|n| n.tok == Tok::Close) {
                    return Err(QueryError::new(t.at, "empty parentheses"));
                }
                let inner = self.or()?;
                match self.peek() {
                    Some(Token {
                        tok: Tok::Close, ..
                    }) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(QueryError::new(t.at, "this ( is never closed")),
                }
            }
            Tok::Word(ref w) if self.next_is_op() => {
                self.pos += 1;
                self.condition(w, t.at)
            }
            Tok::Word(_) => {
                self.pos += 1;
                Ok(Expr::Text(self.chars[t.at..t.end].iter().collect()))
            }
            Tok::Quoted(ref q) => {
                self.pos += 1;
                if let Some(Token {
                    tok: Tok::Op(_),
                    at,
                    ..
                }) = self.peek()
                {
                    return Err(QueryError::new(
                        *at,
                        "a quoted string cannot be a field name (write the key without quotes)",
                    ));
                }
                Ok(Expr::Text(q.clone()))
            }
            Tok::Op(op) => Err(QueryError::new(
                t.at,
                format!("operator {} needs a field before it", op.as_str()),
            )),
            Tok::Close => Err(QueryError::new(t.at, "this ) has no ( before it")),
            Tok::And | Tok::Or => Err(QueryError::new(
                t.at,
                format!("nothing before {}", describe(&t.tok)),
            )),
        };
        self.depth -= 1;
        out
    }

    fn condition(&mut self, name: &str, at: usize) -> Result<Expr, QueryError> {
        let Some(Token {
            tok: Tok::Op(op),
            at: op_at,
            ..
        }) = self.peek().cloned()
        else {
            return Err(QueryError::new(at, "expected an operator"));
        };
        self.pos += 1;
        let value = match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(w),
                at,
                ..
            }) => Lit {
                text: w,
                quoted: false,
                at,
            },
            Some(Token {
                tok: Tok::Quoted(q),
                at,
                ..
            }) => Lit {
                text: q,
                quoted: true,
                at,
            },
            Some(Token {
                tok: Tok::And | Tok::Or | Tok::Not,
                at,
                end,
            }) => Lit {
                // `name=not` and the like: a keyword right after an operator is a value.
                text: self.chars[at..end].iter().collect(),
                quoted: false,
                at,
            },
            _ => {
                return Err(QueryError::new(
                    op_at,
                    format!("expected a value after {}", op.as_str()),
                ));
            }
        };
        self.pos += 1;
        let field = field(name).ok_or_else(|| QueryError::new(at, "an empty field name"))?;
        Ok(Expr::Cond(Cond {
            field,
            op,
            value,
            at,
        }))
    }
}

/// A field by name; anything not known is an attribute key.
fn field(name: &str) -> Option<Field> {
    let f = match name {
        "service" | "service.name" | "resource.service.name" | "rootService" => Field::Service,
        "name" | "span.name" | "spanName" => Field::Name,
        "kind" | "span.kind" => Field::Kind,
        "status" | "span.status" => Field::Status,
        "status.message" | "statusMessage" => Field::StatusMessage,
        "duration" | "span.duration" => Field::Duration,
        "trace" | "trace.id" | "traceid" | "traceId" | "trace_id" => Field::TraceId,
        "span" | "span.id" | "spanid" | "spanId" | "span_id" => Field::SpanId,
        "event.name" | "event" => Field::EventName,
        "trace.duration" | "traceDuration" => Field::TraceDuration,
        "trace.service" | "rootServiceName" => Field::TraceService,
        "trace.name" | "rootName" => Field::TraceName,
        "trace.spans" => Field::TraceSpans,
        "trace.errors" => Field::TraceErrors,
        "severity" | "level" => Field::Severity,
        "body" => Field::Body,
        "metric" | "metric.name" => Field::Metric,
        "type" | "metric.type" => Field::Type,
        "unit" | "metric.unit" => Field::Unit,
        _ => {
            let (scope, key) = if let Some(k) = name.strip_prefix("span.") {
                (AttrScope::Span, k)
            } else if let Some(k) = name.strip_prefix("resource.") {
                (AttrScope::Resource, k)
            } else if let Some(k) = name.strip_prefix("event.") {
                (AttrScope::Event, k)
            } else if let Some(k) = name.strip_prefix('.') {
                (AttrScope::Any, k)
            } else {
                (AttrScope::Any, name)
            };
            if key.is_empty() {
                return None;
            }
            Field::Attr {
                scope,
                key: key.to_owned(),
            }
        }
    };
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Expr {
        parse(text).unwrap().unwrap()
    }

    fn err(text: &str) -> QueryError {
        parse(text).unwrap_err()
    }

    fn cond(field: Field, op: Op, text: &str, at: usize, vat: usize) -> Expr {
        Expr::Cond(Cond {
            field,
            op,
            value: Lit {
                text: text.into(),
                quoted: false,
                at: vat,
            },
            at,
        })
    }

    fn attr(key: &str) -> Field {
        Field::Attr {
            scope: AttrScope::Any,
            key: key.into(),
        }
    }

    #[test]
    fn every_operator() {
        for (text, op) in [
            ("a=1", Op::Eq),
            ("a==1", Op::Eq),
            ("a!=1", Op::Ne),
            ("a>1", Op::Gt),
            ("a>=1", Op::Ge),
            ("a<1", Op::Lt),
            ("a<=1", Op::Le),
            ("a~1", Op::Contains),
            ("a=~1", Op::Regex),
        ] {
            let vat = text.len() - 1;
            assert_eq!(p(text), cond(attr("a"), op, "1", 0, vat), "{text}");
        }
        // Spaces around the operator are fine.
        assert_eq!(p("a >= 1"), cond(attr("a"), Op::Ge, "1", 0, 5));
    }

    #[test]
    fn fields_and_scopes() {
        let field_of = |text: &str| match p(text) {
            Expr::Cond(c) => c.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field_of("service=x"), Field::Service);
        assert_eq!(field_of("resource.service.name=x"), Field::Service);
        assert_eq!(field_of("traceDuration>1s"), Field::TraceDuration);
        assert_eq!(field_of("trace.duration>1s"), Field::TraceDuration);
        assert_eq!(field_of("rootName=x"), Field::TraceName);
        assert_eq!(field_of("trace=abc"), Field::TraceId);
        assert_eq!(
            field_of("span.http.route=x"),
            Field::Attr {
                scope: AttrScope::Span,
                key: "http.route".into()
            }
        );
        assert_eq!(
            field_of("resource.host.name=x"),
            Field::Attr {
                scope: AttrScope::Resource,
                key: "host.name".into()
            }
        );
        assert_eq!(field_of(".name=x"), attr("name"));
        assert_eq!(
            field_of("http.request.method=GET"),
            attr("http.request.method")
        );
    }

    #[test]
    fn precedence_not_binds_tighter_than_and_than_or() {
        let parsed = p("not a=1 and b=2 or c=3");
        assert_eq!(
            parsed,
            Expr::Or(vec![
                Expr::And(vec![
                    Expr::Not(Box::new(cond(attr("a"), Op::Eq, "1", 4, 6))),
                    cond(attr("b"), Op::Eq, "2", 12, 14),
                ]),
                cond(attr("c"), Op::Eq, "3", 19, 21),
            ])
        );
        // Parentheses regroup.
        let parsed = p("a=1 and (b=2 or c=3)");
        let Expr::And(ands) = parsed else {
            panic!("{parsed:?}")
        };
        assert!(matches!(&ands[1], Expr::Or(o) if o.len() == 2));
        // Symbols mean the same as words; side by side means and.
        assert_eq!(unplaced(p("a=1 && b=2")), unplaced(p("a=1 and b=2")));
        assert_eq!(unplaced(p("a=1 b=2")), unplaced(p("a=1 and b=2")));
        assert_eq!(unplaced(p("a=1 || b=2")), unplaced(p("a=1 or b=2")));
        assert_eq!(unplaced(p("!a=1")), unplaced(p("not a=1")));
    }

    /// The expression with positions left out.
    fn unplaced(e: Expr) -> Expr {
        match e {
            Expr::And(v) => Expr::And(v.into_iter().map(unplaced).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(unplaced).collect()),
            Expr::Not(i) => Expr::Not(Box::new(unplaced(*i))),
            Expr::Cond(mut c) => {
                c.at = 0;
                c.value.at = 0;
                Expr::Cond(c)
            }
            t @ Expr::Text(_) => t,
        }
    }

    #[test]
    fn bare_words_are_one_phrase_as_typed() {
        assert_eq!(p("GET  /cart"), Expr::Text("GET  /cart".into()));
        assert_eq!(p("\"a = b\""), Expr::Text("a = b".into()));
        assert_eq!(
            p("timeout status=error"),
            Expr::And(vec![
                Expr::Text("timeout".into()),
                cond(Field::Status, Op::Eq, "error", 8, 15)
            ])
        );
        assert_eq!(
            p("timeout or refused"),
            Expr::Or(vec![
                Expr::Text("timeout".into()),
                Expr::Text("refused".into())
            ])
        );
        // Unicode positions count characters.
        assert_eq!(p("café"), Expr::Text("café".into()));
    }

    #[test]
    fn quoted_values_and_escapes() {
        let Expr::Cond(c) = p(r#"body="say \"hi\" or not""#) else {
            panic!()
        };
        assert_eq!(c.value.text, r#"say "hi" or not"#);
        assert!(c.value.quoted);
        let Expr::Cond(c) = p("name='a b'") else {
            panic!()
        };
        assert_eq!(c.value.text, "a b");
        // A keyword right after an operator is a value.
        let Expr::Cond(c) = p("name=not") else {
            panic!()
        };
        assert_eq!(c.value.text, "not");
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(err("duration>").at, 8);
        assert!(err("duration>").message.contains("value after >"));
        assert_eq!(err("a=1 and").at, 4);
        assert_eq!(err("or a=1").at, 0);
        assert_eq!(err("(a=1").at, 0);
        assert!(err("(a=1").message.contains("never closed"));
        assert_eq!(err("a=1)").at, 3);
        assert_eq!(err("name=\"abc").at, 5);
        assert_eq!(err("=3").at, 0);
        assert_eq!(err("a=1 or ()").at, 7);
        assert_eq!(err("not").at, 0);
        assert_eq!(err("é x=1 or").at, 6);
        let deep = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(err(&deep).message.contains("deeply"));
        assert_eq!(parse("   ").unwrap(), None);
    }
}
