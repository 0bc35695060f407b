//! Who gets into an account of a blueprint version (issue 18), as data and lines for the
//! catalog screen (the version's `access:` group -> permission set, `request_access:` and
//! `contacts:` as written) and the request form's preview (the same, filled with what the form
//! holds: name, owner, parameters). Pure; knows nothing of the other TUI files.

use crate::render::{Line, Tone};
use crate::workspace::{AccountBlueprint, rules};

/// What an account blueprint version says about access and contacts, texts as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessInfo {
    /// (group, permission set).
    pub access: Vec<(String, String)>,
    /// `request_access:` (groups, permission sets), when the version has one.
    pub request_access: Option<(Vec<String>, Vec<String>)>,
    /// (type as written: `security`, name, e-mail, phone, title).
    pub contacts: Vec<[String; 5]>,
}

impl AccessInfo {
    pub fn of(bp: &AccountBlueprint) -> AccessInfo {
        AccessInfo {
            access: bp.access.iter().map(|a| (a.group.text.clone(), a.permission_set.text.clone())).collect(),
            request_access: bp.request_access.as_ref().map(|r| {
                (
                    r.groups.iter().map(|g| g.text.clone()).collect(),
                    r.permission_sets.iter().map(|p| p.text.clone()).collect(),
                )
            }),
            contacts: bp
                .contacts
                .iter()
                .map(|(t, c)| {
                    [
                        t.to_ascii_lowercase(),
                        c.name.text.clone(),
                        c.email.text.clone(),
                        c.phone.text.clone(),
                        c.title.text.clone(),
                    ]
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.access.is_empty() && self.request_access.is_none() && self.contacts.is_empty()
    }

    /// Does any text use `{owner}` (then a request needs an owner)?
    pub fn uses_owner(&self) -> bool {
        let mut texts = self.access.iter().flat_map(|(g, p)| [g, p]);
        texts.any(|t| t.contains("{owner}")) || self.contacts.iter().flatten().any(|t| t.contains("{owner}"))
    }

    /// The catalog's lines: as written, placeholders and all.
    pub fn lines(&self) -> Vec<Line> {
        if self.is_empty() {
            return vec![
                Line::new()
                    .push("access: ", Tone::Muted)
                    .push("none declared (vend gives nobody access)", Tone::Plain),
            ];
        }
        self.filled(&|_| None)
    }

    /// The lines with placeholders filled by `lookup` where it knows them (the rest as written).
    pub fn filled(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<Line> {
        let fill = |t: &str| rules::substitute(t, lookup).unwrap_or_else(|_| t.to_string());
        let mut out = vec![];
        out.push(Line::new().push("access (group -> permission set):", Tone::Heading));
        if self.access.is_empty() {
            out.push(Line::new().push("  none", Tone::Muted));
        }
        for (g, p) in &self.access {
            out.push(
                Line::new()
                    .push(format!("  {}", fill(g)), Tone::Plain)
                    .push(" -> ", Tone::Muted)
                    .push(fill(p), Tone::Plain),
            );
        }
        if let Some((groups, sets)) = &self.request_access {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter().map(|t| fill(t)).collect::<Vec<_>>().join(", ")
                }
            };
            out.push(Line::new().push("a request may add (request_access):", Tone::Heading));
            out.push(Line::new().push("  groups: ", Tone::Muted).push(list(groups), Tone::Plain));
            out.push(Line::new().push("  permission sets: ", Tone::Muted).push(list(sets), Tone::Plain));
        }
        if !self.contacts.is_empty() {
            out.push(Line::new().push("contacts:", Tone::Heading));
            for [t, name, email, phone, title] in &self.contacts {
                out.push(
                    Line::new()
                        .push(format!("  {t}: "), Tone::Muted)
                        .push(format!("{}, {}", fill(name), fill(title)), Tone::Plain),
                );
                out.push(Line::new().push(format!("    {}, {}", fill(email), fill(phone)), Tone::Plain));
            }
        }
        out
    }
}
