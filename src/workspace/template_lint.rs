//! Static lint of pipeline CloudFormation templates, in the spirit of cfn_nag: IAM policy
//! statements allowing `*` actions on `*` resources (`lint-iam-wildcard`), security group
//! ingress from 0.0.0.0/0 or ::/0 on an admin port (22, 3389) or all ports
//! (`lint-open-ingress`), S3 buckets without `BucketEncryption` (`lint-unencrypted-bucket`),
//! and CodePipelines with a stage whose name contains "prod" but no Manual approval action in
//! an earlier stage (`lint-no-approval`).
//!
//! Templates use short-form tags (`!Ref`, `!Sub`, `!GetAtt`), which serde-saphyr cannot give as
//! a generic tree: this module builds its own small tag-aware tree from the event stream of
//! `granit-parser` (the parser serde-saphyr itself runs on), keeping line and column. A tagged
//! value is never taken for a literal (`!Sub '*'` is not the string `*`). Pure: text in,
//! findings out; a template that does not parse yields nothing (the loader reported it).

use granit_parser::{Event, Parser};

/// One lint finding: rule code, 1-based line and column of the offending resource, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// A YAML node with its short-form tag (if any) and position.
#[derive(Debug, Clone)]
enum Node {
    Scalar { value: String, tagged: bool },
    Seq(Vec<Node>),
    Map(Vec<(String, Pos, Node)>),
    Other,
}

#[derive(Debug, Clone, Copy, Default)]
struct Pos {
    line: u32,
    column: u32,
}

const MAX_DEPTH: usize = 256;

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }
    /// A literal (untagged) scalar's text.
    fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, tagged: false } => Some(value),
            _ => None,
        }
    }
    /// A scalar or each scalar of a list (statements accept both shapes).
    fn texts(&self) -> Vec<&str> {
        match self {
            Node::Seq(items) => items.iter().filter_map(Node::text).collect(),
            other => other.text().into_iter().collect(),
        }
    }
    /// A list, or a single item as a one-element list.
    fn items(&self) -> Vec<&Node> {
        match self {
            Node::Seq(items) => items.iter().collect(),
            Node::Other => vec![],
            other => vec![other],
        }
    }
}

type Events<'a> = std::iter::Peekable<Parser<'a, granit_parser::StrInput<'a>>>;

fn node(events: &mut Events<'_>, depth: usize) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (event, _) = events.next()?.ok()?;
    Some(match event {
        Event::Scalar(value, _, _, tag) => Node::Scalar { value: value.into_owned(), tagged: tag.is_some() },
        Event::SequenceStart(..) => {
            let mut items = vec![];
            loop {
                if matches!(events.peek(), Some(Ok((Event::SequenceEnd, _)))) {
                    events.next();
                    break;
                }
                items.push(node(events, depth + 1)?);
            }
            Node::Seq(items)
        }
        Event::MappingStart(..) => {
            let mut entries = vec![];
            loop {
                let pos = match events.peek() {
                    Some(Ok((Event::MappingEnd, _))) => {
                        events.next();
                        break;
                    }
                    Some(Ok((_, span))) => {
                        Pos { line: span.start.line() as u32, column: span.start.col() as u32 + 1 }
                    }
                    _ => return None,
                };
                let key = match node(events, depth + 1)? {
                    Node::Scalar { value, .. } => value,
                    _ => String::new(),
                };
                let value = node(events, depth + 1)?;
                entries.push((key, pos, value));
            }
            Node::Map(entries)
        }
        _ => Node::Other,
    })
}

/// The document's root node, or `None` when the text does not parse.
fn parse(text: &str) -> Option<Node> {
    let mut events = Parser::new_from_str(text).peekable();
    loop {
        match events.peek()? {
            Ok((Event::StreamStart | Event::DocumentStart(..), _)) => {
                events.next();
            }
            Ok(_) => break,
            Err(_) => return None,
        }
    }
    node(&mut events, 0)
}

/// Lint one template's text.
pub fn lint(text: &str) -> Vec<Finding> {
    let Some(root) = parse(text) else { return vec![] };
    let Some(Node::Map(resources)) = root.get("Resources") else { return vec![] };
    let mut out = vec![];
    for (name, pos, res) in resources {
        let kind = res.get("Type").and_then(Node::text).unwrap_or("");
        let props = res.get("Properties");
        let mut find = |code: &'static str, message: String| {
            out.push(Finding { code, line: pos.line, column: pos.column, message });
        };
        match kind {
            "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
                for policy in props.and_then(|p| p.get("Policies")).map(Node::items).unwrap_or_default() {
                    let pname = policy.get("PolicyName").and_then(Node::text).unwrap_or("(unnamed)");
                    if let Some(doc) = policy.get("PolicyDocument")
                        && wildcard_statement(doc)
                    {
                        find(
                            "lint-iam-wildcard",
                            format!(
                                "{name} ({kind}): policy '{pname}' allows every action ('*') on every resource ('*')"
                            ),
                        );
                    }
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                if let Some(doc) = props.and_then(|p| p.get("PolicyDocument"))
                    && wildcard_statement(doc)
                {
                    find(
                        "lint-iam-wildcard",
                        format!("{name} ({kind}) allows every action ('*') on every resource ('*')"),
                    );
                }
            }
            "AWS::EC2::SecurityGroup" => {
                let rules =
                    props.and_then(|p| p.get("SecurityGroupIngress")).map(Node::items).unwrap_or_default();
                for rule in rules {
                    if let Some(what) = open_ingress(rule) {
                        find("lint-open-ingress", format!("{name} ({kind}) allows ingress {what}"));
                    }
                }
            }
            "AWS::EC2::SecurityGroupIngress" => {
                if let Some(what) = props.and_then(open_ingress) {
                    find("lint-open-ingress", format!("{name} ({kind}) allows ingress {what}"));
                }
            }
            "AWS::S3::Bucket" if props.and_then(|p| p.get("BucketEncryption")).is_none() => {
                find(
                    "lint-unencrypted-bucket",
                    format!("{name} ({kind}) has no BucketEncryption: encrypt artifacts at rest (SSE-KMS)"),
                );
            }
            "AWS::CodePipeline::Pipeline" => {
                if let Some(stage) = props.and_then(|p| p.get("Stages")).and_then(unapproved_prod_stage) {
                    find(
                        "lint-no-approval",
                        format!(
                            "{name} ({kind}): stage '{stage}' deploys to production without a Manual approval action in an earlier stage"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// Does an IAM policy document have an Allow statement with `*` actions and `*` resources?
fn wildcard_statement(doc: &Node) -> bool {
    let statements = doc.get("Statement").map(Node::items).unwrap_or_default();
    statements.into_iter().any(|s| {
        let allow = s.get("Effect").and_then(Node::text) != Some("Deny");
        let star = |key: &str| s.get(key).is_some_and(|v| v.texts().contains(&"*"));
        allow && star("Action") && star("Resource")
    })
}

/// `Some(description)` when an ingress rule is open to the world on an admin port or all ports.
fn open_ingress(rule: &Node) -> Option<String> {
    let cidr = ["CidrIp", "CidrIpv6"]
        .iter()
        .filter_map(|k| rule.get(k).and_then(Node::text))
        .find(|c| *c == "0.0.0.0/0" || *c == "::/0")?;
    let protocol = rule.get("IpProtocol").and_then(Node::text).unwrap_or("tcp").to_ascii_lowercase();
    let port = |k: &str| rule.get(k).and_then(Node::text).and_then(|t| t.parse::<i64>().ok());
    if protocol == "-1" || protocol == "all" {
        return Some(format!("from {cidr} on all ports"));
    }
    match (port("FromPort"), port("ToPort")) {
        (Some(-1), _) | (None, None) => Some(format!("from {cidr} on all ports")),
        (from, to) => {
            let (from, to) = (from.or(to)?, to.or(from)?);
            if from <= 0 && to >= 65535 {
                return Some(format!("from {cidr} on all ports"));
            }
            [22, 3389]
                .into_iter()
                .find(|p| (from..=to).contains(p))
                .map(|p| format!("from {cidr} on admin port {p}"))
        }
    }
}

/// The first stage whose name contains "prod" (any case) with no Manual approval before it.
fn unapproved_prod_stage(stages: &Node) -> Option<String> {
    let mut approved = false;
    for stage in stages.items() {
        let name = stage.get("Name").and_then(Node::text).unwrap_or("");
        if name.to_ascii_lowercase().contains("prod") && !approved {
            return Some(name.to_string());
        }
        let actions = stage.get("Actions").map(Node::items).unwrap_or_default();
        approved |= actions.iter().any(|a| {
            let t = a.get("ActionTypeId");
            t.and_then(|t| t.get("Category")).and_then(Node::text) == Some("Approval")
                && t.and_then(|t| t.get("Provider")).and_then(Node::text) == Some("Manual")
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<(&'static str, u32)> {
        lint(text).into_iter().map(|f| (f.code, f.line)).collect()
    }

    #[test]
    fn tagged_values_are_not_literals_and_clean_templates_pass() {
        let t = "Resources:\n  R:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyDocument:\n        Statement:\n          - { Effect: Allow, Action: !Sub '*', Resource: '*' }\n";
        assert!(codes(t).is_empty());
    }

    #[test]
    fn each_rule_fires_at_its_resource() {
        let t = "Resources:\n  Admin:\n    Type: AWS::IAM::Role\n    Properties:\n      Policies:\n        - PolicyName: all\n          PolicyDocument:\n            Statement:\n              - Effect: Allow\n                Action: '*'\n                Resource: ['*']\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      SecurityGroupIngress:\n        - { IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0 }\n  Bucket:\n    Type: AWS::S3::Bucket\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      Stages:\n        - Name: Build\n        - Name: Production\n";
        assert_eq!(
            codes(t),
            vec![
                ("lint-iam-wildcard", 2),
                ("lint-open-ingress", 12),
                ("lint-unencrypted-bucket", 17),
                ("lint-no-approval", 19)
            ]
        );
    }
}
