//! The organization screen as data: the OU tree of the state the TUI planned against (`Org`,
//! built once per load, in the background with the rest of the `Workspace`), with each node's
//! accounts, pipelines, attached SCPs, the changes of the current plan that touch it (and the
//! OUs, accounts and pipelines the plan creates, as planned nodes), and the screen's state
//! (`OrgView`: which nodes are open, the visible rows, the cursor, the search). The visible rows
//! are flattened once per change of expansion (`flatten`), never per frame; a node's line and
//! its details are `render::Line`s the view draws. The effective SCPs of an account are
//! `plan::effective`'s projection of the state and the plan (the root's, every OU's on its
//! path and its own, before and after the plan). Pure: no terminal, no model, no I/O.

use crate::model::State;
use crate::plan::effective::{Projection, ou_paths};
use crate::plan::{AccountKeys, Action, Address, Kind, Payload, Plan, Target};
use crate::render::{self, Line, Tone};
use crate::workspace::Loaded;
use std::collections::{BTreeMap, BTreeSet};

/// What a node of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    Root,
    Ou,
    Account,
    Pipeline,
}

/// An SCP attached to a node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scp {
    pub name: String,
    /// AWS-managed (`FullAWSAccess`): shown muted.
    pub aws_managed: bool,
}

/// One node of the tree: the root, an OU, an account or a provisioned pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub name: String,
    /// AWS id (empty for a node the plan creates).
    pub id: String,
    /// The node's plan address (`root` for the root): the review filter of its changes.
    pub address: String,
    /// OU path of an OU, or of an account's OU ("" is the root); an account's key for a pipeline.
    pub path: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub depth: usize,
    pub scps: Vec<Scp>,
    /// Account: `vend:blueprint` tag (blueprint@version); pipeline: product@version.
    pub blueprint: String,
    /// Account: `vend:owner` tag.
    pub owner: String,
    /// Account state (ACTIVE, SUSPENDED, …) or pipeline status (AVAILABLE, TAINTED, …).
    pub state: String,
    /// Indexes into `plan.changes` of the changes to this node itself (its SCP attachments
    /// included), in plan order.
    pub changes: Vec<usize>,
    /// How many changes touch the nodes below this one.
    pub inside: usize,
    /// Created by the plan: not in the organization yet.
    pub planned: bool,
}

impl Node {
    fn new(kind: NodeKind, name: &str, id: &str, address: String) -> Node {
        Node {
            kind,
            name: name.to_string(),
            id: id.to_string(),
            address,
            path: String::new(),
            parent: None,
            children: vec![],
            depth: 0,
            scps: vec![],
            blueprint: String::new(),
            owner: String::new(),
            state: String::new(),
            changes: vec![],
            inside: 0,
            planned: false,
        }
    }

    /// Marked as in trouble: a SUSPENDED account, a TAINTED or ERROR pipeline.
    pub fn alarming(&self) -> bool {
        matches!(self.state.as_str(), "SUSPENDED" | "TAINTED" | "ERROR")
    }
}

/// An account's effective SCPs (sorted names) before and after the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub before: BTreeSet<String>,
    pub after: BTreeSet<String>,
}

/// The organization tree; node 0 is the root.
#[derive(Debug, Default)]
pub struct Org {
    pub nodes: Vec<Node>,
    /// Every node reachable from the root, in tree order (pre-order, children sorted).
    pub order: Vec<usize>,
    /// Node -> its position in `order` (`usize::MAX` for a node the root does not reach).
    pub rank: Vec<usize>,
    pub accounts: usize,
    pub ous: usize,
    pub pipelines: usize,
    pub organization_id: String,
    projection: Projection,
}

fn tag(tags: &BTreeMap<String, String>, key: &str) -> String {
    tags.get(key).cloned().unwrap_or_default()
}

/// Build the tree of `state`, with the changes of `plan` (planned against it) on their nodes.
pub fn build(state: &State, plan: &Plan, loaded: &Loaded) -> Org {
    let keys = AccountKeys::new(&loaded.desired, state);
    let renamed: BTreeMap<&str, &str> = plan
        .changes
        .iter()
        .filter(|c| c.kind == Kind::Ou && c.action == Action::Rename)
        .filter_map(|c| match (&c.before, &c.after) {
            (Some(Payload::Ou(b)), Some(Payload::Ou(a))) => Some((b.id.as_str(), a.name.as_str())),
            _ => None,
        })
        .collect();
    let paths = ou_paths(state, &renamed);
    let root_id = state.organization.root_id.as_str();
    let mut nodes = vec![Node::new(NodeKind::Root, "Root", root_id, "root".into())];
    // AWS id -> node, plan address -> node.
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_address: BTreeMap<String, usize> = BTreeMap::new();
    by_id.insert(root_id.to_string(), 0);
    by_address.insert("root".into(), 0);
    let mut parent_ids: Vec<(usize, String)> = vec![];
    for o in &state.organizational_units {
        let path = paths.get(&o.id).cloned().unwrap_or_else(|| o.name.clone());
        let address = Address::ou(&path).to_string();
        let mut n = Node::new(NodeKind::Ou, &o.name, &o.id, address.clone());
        n.path = path;
        let i = nodes.len();
        nodes.push(n);
        by_id.insert(o.id.clone(), i);
        by_address.insert(address, i);
        parent_ids.push((i, o.parent_id.clone()));
    }
    for a in &state.accounts {
        let key = keys.key(a);
        let address = Address::account(key).to_string();
        let mut n = Node::new(NodeKind::Account, &a.name, &a.id, address.clone());
        n.blueprint = tag(&a.tags, "vend:blueprint");
        n.owner = tag(&a.tags, "vend:owner");
        n.state = a.state.clone();
        n.path = if a.parent_id == root_id {
            String::new()
        } else {
            paths.get(&a.parent_id).cloned().unwrap_or_default()
        };
        let i = nodes.len();
        nodes.push(n);
        by_id.insert(a.id.clone(), i);
        by_address.insert(address, i);
        parent_ids.push((i, a.parent_id.clone()));
    }
    let products: BTreeMap<&str, &crate::model::Product> =
        state.products.iter().map(|p| (p.id.as_str(), p)).collect();
    for pp in &state.provisioned_products {
        let Some(&acct) = by_id.get(&pp.account_id) else { continue };
        let key = keys_of(&nodes[acct]);
        let address = Address::provisioned_pipeline(&key, &pp.name).to_string();
        let mut n = Node::new(NodeKind::Pipeline, &pp.name, &pp.id, address.clone());
        let product = products.get(pp.product_id.as_str());
        let version = product
            .and_then(|p| p.versions.iter().find(|v| v.id == pp.version_id))
            .map(|v| v.name.as_str())
            .unwrap_or(pp.version_id.as_str());
        n.blueprint =
            format!("{}@{version}", product.map(|p| p.name.as_str()).unwrap_or(pp.product_id.as_str()));
        n.state = pp.status.clone();
        n.path = key;
        let i = nodes.len();
        nodes.push(n);
        by_address.insert(address, i);
        nodes[i].parent = Some(acct);
        nodes[acct].children.push(i);
    }
    for (i, parent) in parent_ids {
        if let Some(&p) = by_id.get(&parent) {
            nodes[i].parent = Some(p);
            nodes[p].children.push(i);
        }
    }
    for p in state.policies.iter().filter(|p| p.policy_type == "SERVICE_CONTROL_POLICY") {
        for t in &p.target_ids {
            if let Some(&i) = by_id.get(t) {
                nodes[i].scps.push(Scp { name: p.name.clone(), aws_managed: p.aws_managed });
            }
        }
    }
    // The plan's changes on their nodes; what it creates as planned nodes.
    for (ci, c) in plan.changes.iter().enumerate() {
        let node = match c.kind {
            Kind::PolicyAttachment => match c.address.attachment().map(|(_, t)| t) {
                Some(Target::Root) => Some(0),
                Some(Target::Node(a)) => by_address.get(a.as_str()).copied(),
                Some(Target::Id(id)) => by_id.get(&id).copied(),
                None => None,
            },
            Kind::Ou | Kind::Account | Kind::ProvisionedPipeline => {
                match by_address.get(c.address.as_str()) {
                    Some(&i) => Some(i),
                    None if c.action == Action::Create => planned(&mut nodes, &mut by_address, c),
                    None => None,
                }
            }
            _ => None,
        };
        if let Some(i) = node {
            nodes[i].changes.push(ci);
        }
    }
    let mut org = Org {
        accounts: nodes.iter().filter(|n| n.kind == NodeKind::Account && !n.planned).count(),
        ous: nodes.iter().filter(|n| n.kind == NodeKind::Ou && !n.planned).count(),
        pipelines: nodes.iter().filter(|n| n.kind == NodeKind::Pipeline && !n.planned).count(),
        nodes,
        order: vec![],
        rank: vec![],
        organization_id: state.organization.id.clone(),
        projection: Projection::new(state, &plan.changes, &keys),
    };
    finish(&mut org);
    org
}

/// An account node's key in addresses.
fn keys_of(n: &Node) -> String {
    Address::parse(&n.address).map(|a| a.key().to_string()).unwrap_or_else(|_| n.name.clone())
}

/// A node for an OU, account or pipeline the plan creates, under its parent (when that is in
/// the tree: the state's, or planned by an earlier change).
fn planned(
    nodes: &mut Vec<Node>,
    by_address: &mut BTreeMap<String, usize>,
    c: &crate::plan::Change,
) -> Option<usize> {
    let after = c.after.as_ref()?;
    let key = c.address.key();
    let (kind, name, parent, path) = match c.kind {
        Kind::Ou => {
            let parent = after.parent().unwrap_or("");
            let name = key.rsplit('/').next().unwrap_or(key);
            (NodeKind::Ou, name.to_string(), parent.to_string(), key.to_string())
        }
        Kind::Account => {
            let parent = after.parent().unwrap_or("").to_string();
            (NodeKind::Account, key.to_string(), parent.clone(), parent)
        }
        _ => {
            let (account, name) = key.split_once('/')?;
            (NodeKind::Pipeline, name.to_string(), account.to_string(), account.to_string())
        }
    };
    let parent_address = match kind {
        NodeKind::Pipeline => Address::account(&parent).to_string(),
        _ if parent.is_empty() => "root".to_string(),
        _ => Address::ou(&parent).to_string(),
    };
    let p = *by_address.get(&parent_address)?;
    let mut n = Node::new(kind, &name, "", c.address.to_string());
    n.path = path;
    n.planned = true;
    n.parent = Some(p);
    if kind == NodeKind::Pipeline
        && let Some((product, version)) = after.pipeline_version()
    {
        n.blueprint = format!("{product}@{}", version.unwrap_or("?"));
    }
    if kind == NodeKind::Account
        && let Payload::NewAccount(a) = after
    {
        n.blueprint = a.blueprint.clone();
        n.owner = a.tags.get("vend:owner").cloned().unwrap_or_default();
    }
    let i = nodes.len();
    nodes.push(n);
    nodes[p].children.push(i);
    by_address.insert(c.address.to_string(), i);
    Some(i)
}

/// Sort children (OUs, then accounts, then pipelines, each by name), set depths, the tree
/// order and the changes inside each node.
fn finish(org: &mut Org) {
    let nodes = &mut org.nodes;
    let sort_keys: Vec<(NodeKind, String)> = nodes.iter().map(|n| (n.kind, n.name.to_lowercase())).collect();
    for n in nodes.iter_mut() {
        n.children.sort_by(|a, b| sort_keys[*a].cmp(&sort_keys[*b]).then(a.cmp(b)));
    }
    let mut order = Vec::with_capacity(nodes.len());
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, depth)) = stack.pop() {
        nodes[i].depth = depth;
        order.push(i);
        for &c in nodes[i].children.iter().rev() {
            stack.push((c, depth + 1));
        }
    }
    // Children come after their parent in the order: add counts up from the end.
    for &i in order.iter().rev() {
        if let Some(p) = nodes[i].parent {
            let add = nodes[i].changes.len() + nodes[i].inside;
            nodes[p].inside += add;
        }
    }
    let mut rank = vec![usize::MAX; nodes.len()];
    for (at, &i) in order.iter().enumerate() {
        rank[i] = at;
    }
    org.order = order;
    org.rank = rank;
}

impl Org {
    /// The effective SCPs of an account node, before and after the plan (`None` for others).
    pub fn effective(&self, i: usize) -> Option<Effective> {
        let n = self.nodes.get(i)?;
        if n.kind != NodeKind::Account {
            return None;
        }
        let target = n.address.as_str();
        let key = Address::parse(target).ok()?.key().to_string();
        let p = &self.projection;
        let mut before = BTreeSet::new();
        if !n.planned {
            before = p.effective_ou_before(&n.path);
            before.extend(p.before_of(target).into_iter().flatten().cloned());
        }
        let to = p.accounts.get(&key).map(|(_, _, to)| to.clone()).unwrap_or_else(|| n.path.clone());
        let mut after = p.effective_ou_after(&to);
        after.extend(p.after_of(target).into_iter().flatten().cloned());
        Some(Effective { before, after })
    }

    /// The pipelines of an account node.
    pub fn pipelines_of(&self, i: usize) -> impl Iterator<Item = &Node> {
        self.nodes
            .get(i)
            .into_iter()
            .flat_map(|n| n.children.iter())
            .filter_map(|c| self.nodes.get(*c))
            .filter(|c| c.kind == NodeKind::Pipeline)
    }

    /// Nodes whose name or id contains `query` (case-insensitive), in tree order.
    pub fn search(&self, query: &str) -> Vec<usize> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return vec![];
        }
        self.order.iter().copied().filter(|&i| self.matches(i, &q)).collect()
    }

    /// Does node `i`'s name or id contain `query` (lower case; never when empty)?
    pub fn matches(&self, i: usize, query: &str) -> bool {
        let Some(n) = self.nodes.get(i) else { return false };
        !query.is_empty() && (n.name.to_lowercase().contains(query) || n.id.to_lowercase().contains(query))
    }
}

/// Open by default: the root and the OUs (accounts show their pipelines when opened).
pub fn default_open(org: &Org) -> Vec<bool> {
    org.nodes.iter().map(|n| matches!(n.kind, NodeKind::Root | NodeKind::Ou)).collect()
}

/// The visible rows (node indexes in tree order) under the open nodes.
pub fn flatten(org: &Org, open: &[bool]) -> Vec<usize> {
    let mut rows = vec![];
    if org.nodes.is_empty() {
        return rows;
    }
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        rows.push(i);
        if open.get(i).copied().unwrap_or(false) {
            stack.extend(org.nodes[i].children.iter().rev().copied());
        }
    }
    rows
}

/// The organization screen's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgView {
    /// Per node: children shown.
    pub open: Vec<bool>,
    /// Addresses of the nodes the user opened or closed (kept across reloads).
    pub toggled: BTreeSet<String>,
    /// Visible rows: node indexes (`flatten` of `open`).
    pub rows: Vec<usize>,
    /// Index into `rows`.
    pub selected: usize,
    pub search: String,
    pub editing_search: bool,
    /// Nodes matching `search`, in tree order.
    pub matches: Vec<usize>,
}

impl OrgView {
    /// The state for a (re)loaded tree: defaults plus what the user toggled; the cursor stays
    /// on the node with the same address when it is still there.
    pub fn reset(&mut self, old: Option<&Org>, org: &Org) {
        let keep = old.zip(self.node()).and_then(|(o, i)| o.nodes.get(i)).map(|n| n.address.clone());
        let mut open = default_open(org);
        for (i, n) in org.nodes.iter().enumerate() {
            if self.toggled.contains(&n.address) {
                open[i] = !open[i];
            }
        }
        self.open = open;
        self.matches = org.search(&self.search);
        self.rows = flatten(org, &self.open);
        self.selected = 0;
        if let Some(i) = keep.and_then(|a| org.nodes.iter().position(|n| n.address == a)) {
            self.select(org, i);
        }
    }

    /// The node under the cursor.
    pub fn node(&self) -> Option<usize> {
        self.rows.get(self.selected).copied()
    }

    /// Open or close node `i`, keeping the cursor on the node it was on (on `i` when that
    /// one is folded away).
    pub fn set_open(&mut self, org: &Org, i: usize, open: bool) {
        if self.open.get(i).copied() == Some(open) || org.nodes.get(i).is_none_or(|n| n.children.is_empty()) {
            return;
        }
        let at = self.node();
        self.open[i] = open;
        let address = &org.nodes[i].address;
        if !self.toggled.remove(address) {
            self.toggled.insert(address.clone());
        }
        self.rows = flatten(org, &self.open);
        // The cursor stays on its node, or goes to the one closed over it.
        let at = at.and_then(|n| self.rows.iter().position(|r| *r == n));
        self.selected = at.or_else(|| self.rows.iter().position(|r| *r == i)).unwrap_or(0);
    }

    /// Put the cursor on node `i`, opening its ancestors when they are closed.
    pub fn select(&mut self, org: &Org, i: usize) {
        let mut changed = false;
        let mut p = org.nodes.get(i).and_then(|n| n.parent);
        while let Some(a) = p {
            if !self.open[a] {
                self.open[a] = true;
                let address = &org.nodes[a].address;
                if !self.toggled.remove(address) {
                    self.toggled.insert(address.clone());
                }
                changed = true;
            }
            p = org.nodes[a].parent;
        }
        if changed {
            self.rows = flatten(org, &self.open);
        }
        if let Some(at) = self.rows.iter().position(|r| *r == i) {
            self.selected = at;
        }
    }
}

fn marker(plan: &Plan, n: &Node) -> (String, Tone) {
    match n.changes.first().and_then(|i| plan.changes.get(*i)) {
        Some(c) => (render::symbol(c.action).to_string(), render::tone(c.action)),
        None => (String::new(), Tone::Plain),
    }
}

fn scp_spans(mut l: Line, scps: &[Scp]) -> Line {
    if scps.is_empty() {
        return l;
    }
    l = l.push("  SCPs: ", Tone::Muted);
    for (i, s) in scps.iter().enumerate() {
        if i > 0 {
            l = l.push(", ", Tone::Muted);
        }
        l = l.push(s.name.clone(), if s.aws_managed { Tone::Muted } else { Tone::Plain });
    }
    l
}

/// One row of the tree: cursor, change marker, indentation and fold mark, then the node's facts.
pub fn row_line(org: &Org, plan: &Plan, i: usize, open: bool, matched: bool, cursor: bool) -> Line {
    let Some(n) = org.nodes.get(i) else { return Line::new() };
    let (sym, tone) = marker(plan, n);
    let fold = if n.children.is_empty() {
        "  "
    } else if open {
        "▾ "
    } else {
        "▸ "
    };
    let mut l = Line::new()
        .push(if cursor { "> " } else { "  " }, Tone::Heading)
        .push(format!("{sym:>3} "), tone)
        .push(format!("{}{fold}", "  ".repeat(n.depth)), Tone::Muted)
        .push(n.name.clone(), if matched { Tone::Warning } else { Tone::Heading });
    if n.planned {
        l = l.push("  (planned)", tone);
    } else if !n.id.is_empty() {
        l = l.push(format!("  {}", n.id), Tone::Muted);
    }
    match n.kind {
        NodeKind::Account => {
            if !n.blueprint.is_empty() {
                l = l.push(format!("  {}", n.blueprint), Tone::Plain);
            }
            if !n.owner.is_empty() {
                l = l.push(format!("  {}", n.owner), Tone::Plain);
            }
            if n.alarming() {
                l = l.push(format!("  ! {}", n.state), Tone::Error);
            } else if !n.state.is_empty() && n.state != "ACTIVE" {
                l = l.push(format!("  {}", n.state), Tone::Warning);
            }
        }
        NodeKind::Pipeline => {
            l = l.push(format!("  {}", n.blueprint), Tone::Plain);
            if n.alarming() {
                l = l.push(format!("  ! {}", n.state), Tone::Error);
            } else if !n.state.is_empty() {
                l = l.push(format!("  {}", n.state), Tone::Muted);
            }
        }
        NodeKind::Root | NodeKind::Ou => {}
    }
    if n.inside > 0 && !open {
        l = l.push(format!("  ({} change(s) inside)", n.inside), Tone::Warning);
    }
    if n.kind != NodeKind::Pipeline {
        l = scp_spans(l, &n.scps);
    }
    l
}

fn names(set: &BTreeSet<String>) -> String {
    if set.is_empty() { "none".to_string() } else { set.iter().cloned().collect::<Vec<_>>().join(", ") }
}

/// The details of node `i`: its facts, attached SCPs, an account's effective SCPs (and how the
/// plan changes them) and pipelines, and the plan's changes to it.
pub fn details(org: &Org, plan: &Plan, i: usize) -> Vec<Line> {
    let Some(n) = org.nodes.get(i) else { return vec![] };
    let what = match n.kind {
        NodeKind::Root => "root",
        NodeKind::Ou => "OU",
        NodeKind::Account => "account",
        NodeKind::Pipeline => "pipeline",
    };
    let mut head = Line::new().push(format!("{what} "), Tone::Muted).push(n.name.clone(), Tone::Heading);
    if !n.id.is_empty() {
        head = head.push(format!(" ({})", n.id), Tone::Muted);
    }
    if n.planned {
        head = head.push("  created by the plan", Tone::Create);
    }
    if !n.state.is_empty() {
        head = head.push(format!("  {}", n.state), if n.alarming() { Tone::Error } else { Tone::Plain });
    }
    let mut out = vec![head];
    let ou = |p: &str| if p.is_empty() { "(root)".to_string() } else { p.to_string() };
    match n.kind {
        NodeKind::Account => {
            let mut l = Line::new().push(format!("in {}", ou(&n.path)), Tone::Plain);
            l = l.push(
                format!("  blueprint {}", if n.blueprint.is_empty() { "-" } else { &n.blueprint }),
                Tone::Plain,
            );
            l = l.push(format!("  owner {}", if n.owner.is_empty() { "-" } else { &n.owner }), Tone::Plain);
            out.push(l);
        }
        NodeKind::Pipeline => out.push(Line::plain(format!("account {}  runs {}", n.path, n.blueprint))),
        NodeKind::Ou => out.push(Line::plain(format!(
            "path {}  {} OU(s), {} account(s) directly inside",
            n.path,
            n.children.iter().filter(|c| org.nodes[**c].kind == NodeKind::Ou).count(),
            n.children.iter().filter(|c| org.nodes[**c].kind == NodeKind::Account).count()
        ))),
        NodeKind::Root => out.push(Line::plain(format!(
            "organization {}: {} OU(s), {} account(s), {} pipeline(s)",
            org.organization_id, org.ous, org.accounts, org.pipelines
        ))),
    }
    if n.kind != NodeKind::Pipeline {
        out.push(scp_spans(Line::new().push("attached", Tone::Heading), &n.scps));
    }
    if let Some(e) = org.effective(i) {
        out.push(Line::new().push("effective SCPs: ", Tone::Heading).push(names(&e.after), Tone::Plain));
        if e.before != e.after {
            let mut l = Line::new().push("  the plan changes them, now: ", Tone::Muted);
            l = l.push(names(&e.before), Tone::Plain);
            out.push(l);
        }
    }
    if n.kind == NodeKind::Account {
        let pipes: Vec<&Node> = org.pipelines_of(i).collect();
        if pipes.is_empty() {
            out.push(Line::new().push("pipelines: none", Tone::Muted));
        } else {
            out.push(Line::new().push(format!("pipelines ({}):", pipes.len()), Tone::Heading));
            for p in pipes {
                let tone = if p.alarming() { Tone::Error } else { Tone::Plain };
                let flag = if p.alarming() { "! " } else { "" };
                out.push(
                    Line::new()
                        .push(format!("  {} {}  ", p.name, p.blueprint), Tone::Plain)
                        .push(format!("{flag}{}", if p.planned { "planned" } else { &p.state }), tone),
                );
            }
        }
    }
    if n.changes.is_empty() {
        let inside = if n.inside > 0 { format!(" ({} below it)", n.inside) } else { String::new() };
        out.push(Line::new().push(format!("no change in the plan{inside}"), Tone::Muted));
    } else {
        out.push(
            Line::new().push(format!("plan: {} change(s), enter shows them", n.changes.len()), Tone::Heading),
        );
        for c in n.changes.iter().filter_map(|c| plan.changes.get(*c)) {
            out.push(
                Line::new()
                    .push(format!("  {:>3} ", render::symbol(c.action)), render::tone(c.action))
                    .push(c.address.to_string(), Tone::Plain)
                    .push(format!("  {}", c.action), render::tone(c.action)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Account, OrgUnit};
    use crate::plan::Basis;

    fn org() -> Org {
        let mut s = State::empty("2026-11-22T10:00:00Z");
        let root = s.organization.root_id.clone();
        let ou = |id: &str, name: &str, parent: &str| OrgUnit {
            id: id.into(),
            name: name.into(),
            parent_id: parent.into(),
            tags: Default::default(),
        };
        // Listed child first: the tree does not depend on the state's order.
        s.organizational_units.push(ou("ou-b", "prod", "ou-a"));
        s.organizational_units.push(ou("ou-a", "Workloads", &root));
        s.accounts.push(Account {
            id: "222222222222".into(),
            name: "app".into(),
            email: "a@example.com".into(),
            state: "ACTIVE".into(),
            parent_id: "ou-b".into(),
            tags: Default::default(),
        });
        let plan = Plan::new(Basis::default(), vec![], vec![]);
        build(&s, &plan, &Loaded { desired: Default::default(), diagnostics: vec![] })
    }

    fn names(org: &Org, rows: &[usize]) -> Vec<String> {
        rows.iter().map(|i| org.nodes[*i].name.clone()).collect()
    }

    #[test]
    fn flatten_shows_open_nodes_children_in_order() {
        let org = org();
        let mut open = default_open(&org);
        assert_eq!(names(&org, &flatten(&org, &open)), ["Root", "Workloads", "prod", "app", "management"]);
        assert_eq!(org.nodes[org.order[3]].depth, 3);
        let w = org.order[1];
        open[w] = false;
        assert_eq!(names(&org, &flatten(&org, &open)), ["Root", "Workloads", "management"]);
        assert_eq!(org.nodes[w].children.len(), 1);
    }

    #[test]
    fn select_opens_the_ancestors_and_reset_keeps_the_folds() {
        let o = org();
        let mut v = OrgView::default();
        v.reset(None, &o);
        let w = o.order[1];
        v.set_open(&o, w, false);
        assert_eq!(v.rows.len(), 3);
        let app = o.search("APP");
        assert_eq!(names(&o, &app), ["app"]);
        v.select(&o, app[0]);
        assert_eq!(v.rows.len(), 5);
        assert_eq!(v.node(), Some(app[0]));
        v.set_open(&o, w, false);
        assert_eq!(v.node(), Some(w), "the cursor goes to the node folded over it");
        let again = org();
        v.reset(Some(&o), &again);
        assert_eq!(v.rows.len(), 3, "folds are kept across a reload");
        assert_eq!(v.node(), Some(w));
    }
}
