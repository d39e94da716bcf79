//! How the PostgreSQL database `keydeck demo` brings along stands, as the demo reports it to
//! the Query Stats tab.

/// The PostgreSQL database `keydeck demo` brings along, as the demo reports it while it
/// starts, for the tab to say what it waits for (or why there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuiltIn {
    /// `--no-postgres`.
    Skipped,
    /// No server binaries were found (where the demo looked).
    Missing(String),
    /// The cluster is being created; it is monitored under this name.
    Starting(String),
    /// The cluster is up, with its workload, monitored under this name.
    Up(String),
    /// The cluster did not start: why, in one line.
    Failed { name: String, why: String },
}

impl BuiltIn {
    /// The name it is (or was to be) monitored under.
    pub fn name(&self) -> Option<&str> {
        match self {
            BuiltIn::Starting(name) | BuiltIn::Up(name) | BuiltIn::Failed { name, .. } => {
                Some(name)
            }
            BuiltIn::Skipped | BuiltIn::Missing(_) => None,
        }
    }

    /// What the tab says in place of database `name`'s statements while this is how the
    /// demo's own database stands; None when it is up (or `name` is another database).
    pub fn standing(&self, name: &str, warming: bool) -> Option<String> {
        match self {
            BuiltIn::Up(own) if own == name && warming => Some(format!(
                "PostgreSQL is up and its workload runs; the first statements of `{own}` show \
                 after the service's next two sampling rounds (5 s apart)."
            )),
            BuiltIn::Starting(own) if own == name => Some(format!(
                "Starting PostgreSQL… the demo’s own database `{own}`, with a workload: its \
                 statements show here a few seconds after it is up."
            )),
            BuiltIn::Failed { name: own, why } if own == name => {
                Some(format!("The demo’s PostgreSQL did not start: {why}"))
            }
            _ => None,
        }
    }
}
