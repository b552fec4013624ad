//! `${VAR}` expansion in string values of the parsed TOML tree (never in keys or
//! comments, so a commented-out line cannot fail start-up). `$${` is a literal
//! `${`. A missing variable is an error naming both the variable and the key.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExpandError {
    #[error("`{key}` refers to environment variable {var}, which is not set")]
    Missing { key: String, var: String },
    #[error("`{key}` has a malformed `${{...}}` reference: {why}")]
    Malformed { key: String, why: &'static str },
}

/// Expands every string in `value` in place; `key` is the dotted path so far.
pub fn expand_tree(
    value: &mut toml::Value,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ExpandError> {
    match value {
        toml::Value::String(s) => *s = expand_str(s, key, env)?,
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{key}[{i}]"), env)?;
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let path = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                expand_tree(v, &path, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub fn expand_str(
    input: &str,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail.find('}').ok_or_else(|| ExpandError::Malformed {
                key: key.to_string(),
                why: "no closing `}`",
            })?;
            let name = &tail[..end];
            if !is_var_name(name) {
                return Err(ExpandError::Malformed {
                    key: key.to_string(),
                    why: "variable names are letters, digits and `_`",
                });
            }
            let value = env(name).ok_or_else(|| ExpandError::Missing {
                key: key.to_string(),
                var: name.to_string(),
            })?;
            out.push_str(&value);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            "DOLLAR" => Some("${A}".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_references() {
        assert_eq!(expand_str("x${A}y${A}", "k", &env).unwrap(), "xalphayalpha");
        assert_eq!(expand_str("${EMPTY}", "k", &env).unwrap(), "");
        assert_eq!(
            expand_str("cost $5, $$A", "k", &env).unwrap(),
            "cost $5, $$A"
        );
        assert_eq!(expand_str("$${A}", "k", &env).unwrap(), "${A}");
        // Expansion is not recursive: a value containing `${` stays as it is.
        assert_eq!(expand_str("${DOLLAR}", "k", &env).unwrap(), "${A}");
    }

    #[test]
    fn errors_name_the_variable_and_the_key() {
        assert_eq!(
            expand_str("${NOPE}", "feishu.app_secret", &env),
            Err(ExpandError::Missing {
                key: "feishu.app_secret".into(),
                var: "NOPE".into()
            })
        );
        assert!(matches!(
            expand_str("${A", "k", &env),
            Err(ExpandError::Malformed { .. })
        ));
        assert!(matches!(
            expand_str("${1A}", "k", &env),
            Err(ExpandError::Malformed { .. })
        ));
        assert!(matches!(
            expand_str("${}", "k", &env),
            Err(ExpandError::Malformed { .. })
        ));
    }

    #[test]
    fn walks_tables_and_arrays() {
        let mut v: toml::Value = toml::from_str("[api]\ntokens = [\"${A}\", \"${NOPE}\"]").unwrap();
        let err = expand_tree(&mut v, "", &env).unwrap_err();
        assert_eq!(
            err,
            ExpandError::Missing {
                key: "api.tokens[1]".into(),
                var: "NOPE".into()
            }
        );
    }

    proptest! {
        #[test]
        fn text_without_dollar_is_unchanged(s in "[^$]*") {
            prop_assert_eq!(expand_str(&s, "k", &env).unwrap(), s);
        }

        #[test]
        fn never_panics(s in ".*") {
            let _ = expand_str(&s, "k", &env);
        }
    }
}
