//! What `--monitor [ID:]NAME=postgres://…` and `--monitor-file` give: a database to monitor,
//! with the stable id it must have, if any.

/// A monitored database as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The id given with it; without one the store assigns one on first sight of the name.
    pub id: Option<i64>,
    pub name: String,
    pub url: String,
}

const EXPECTED: &str = "expected [ID:]NAME=postgres://user@host/db (ID a positive number)";

impl Target {
    /// Parses `[ID:]NAME=postgres://…`.
    pub fn parse(spec: &str) -> Result<Target, String> {
        let (label, url) = spec.split_once('=').ok_or(EXPECTED)?;
        Self::from_parts(label, url)
    }

    /// From the two halves `ServeConfig::monitor` keeps: `[ID:]NAME` and the URL.
    pub fn from_parts(label: &str, url: &str) -> Result<Target, String> {
        let (id, name) = match label.split_once(':') {
            Some((id, name)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                let id = id.parse::<i64>().ok().filter(|&n| n > 0).ok_or(EXPECTED)?;
                (Some(id), name)
            }
            _ => (None, label),
        };
        let name = name.trim();
        let url = url.trim();
        if name.is_empty() || !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(EXPECTED.into());
        }
        Ok(Target {
            id,
            name: name.to_owned(),
            url: url.to_owned(),
        })
    }

    /// `--monitor-file`: one `[ID:]NAME=postgres://…` per line; blank lines and lines starting
    /// with `#` are skipped. Errors name the line.
    pub fn parse_file(text: &str) -> Result<Vec<Target>, String> {
        text.lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line.trim()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
            .map(|(n, line)| Target::parse(line).map_err(|e| format!("line {n}: {e}")))
            .collect()
    }

    /// The `(label, url)` pair `ServeConfig::monitor` holds.
    pub fn into_pair(self) -> (String, String) {
        let label = match self.id {
            Some(id) => format!("{id}:{}", self.name),
            None => self.name,
        };
        (label, self.url)
    }
}

/// Refuses a name or an explicit id given twice.
pub fn check_unique(targets: &[Target]) -> Result<(), String> {
    for (i, t) in targets.iter().enumerate() {
        for other in &targets[..i] {
            if other.name == t.name {
                return Err(format!("`{}` is monitored twice", t.name));
            }
            if t.id.is_some() && other.id == t.id {
                return Err(format!(
                    "the id {} is given to both `{}` and `{}`",
                    t.id.unwrap_or_default(),
                    other.name,
                    t.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_optional_and_numeric() {
        let t = Target::parse("7:app=postgres://u@h/app").unwrap();
        assert_eq!((t.id, t.name.as_str()), (Some(7), "app"));
        let t = Target::parse("app=postgresql://u@h/app").unwrap();
        assert_eq!((t.id, t.name.as_str()), (None, "app"));
        // A name may hold a colon when what precedes it is not a number.
        let t = Target::parse("eu:app=postgres://u@h/app").unwrap();
        assert_eq!((t.id, t.name.as_str()), (None, "eu:app"));
        for bad in [
            "0:app=postgres://h",
            "7:=postgres://h",
            "app=mysql://h",
            "app",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Target::parse("7:app=postgres://h").unwrap().into_pair(),
            ("7:app".into(), "postgres://h".into())
        );
    }

    #[test]
    fn the_file_has_one_per_line_and_comments() {
        let text = "# the fleet\n\n3:billing=postgres://h/b\n  app=postgres://h/a  \n";
        let targets = Target::parse_file(text).unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].id, Some(3));
        assert_eq!(targets[1].name, "app");
        let err = Target::parse_file("a=postgres://h\nnonsense\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }

    #[test]
    fn names_and_ids_are_unique() {
        let t = |s| Target::parse(s).unwrap();
        assert!(check_unique(&[t("a=postgres://h"), t("a=postgres://i")]).is_err());
        assert!(check_unique(&[t("1:a=postgres://h"), t("1:b=postgres://i")]).is_err());
        assert!(check_unique(&[t("1:a=postgres://h"), t("b=postgres://i")]).is_ok());
    }
}
