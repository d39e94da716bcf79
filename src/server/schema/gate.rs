//! The request gate: what a document may ask for, decided once per request before any
//! resolver runs.
//!
//! Right after parsing, the document's shape is bounded: its selections as executed (with
//! fragments expanded) and the number of mutation fields. Then the standard validation runs
//! (types, depth, cost). Only a document that passed it is checked against the key's
//! permissions (queries need READ, mutations WRITE; a mutation sent without READ may select
//! only `ok`, `error` and ids), and only then is a refused mutation audited, so garbage never
//! reaches the audit log. Only the operation that will run counts: clients such as
//! graphql_client send a whole document of operations and pick one by `operationName`.
//! A document that passed the shape checks is kept ([`DocumentCache`]) and not parsed or
//! measured again; everything that depends on the caller or the variables runs every time.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::Variables;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, FragmentDefinition, OperationDefinition,
    OperationType, Selection, SelectionSet,
};
use async_graphql::{
    Name, Positioned, Request, Response, ServerError, ServerResult, ValidationResult, Value,
};

use super::documents::{Checked, DocumentCache};
use super::nul;
use crate::server::auth::Caller;
use crate::server::model::Permission;
use crate::server::store::Audit;

/// The refusal codes of the gate's verdicts.
const FORBIDDEN: &str = "FORBIDDEN";
const BAD_USER_INPUT: &str = "BAD_USER_INPUT";

/// Most fields one document may select, counted as executed (fragments expanded). Far above
/// any real client's document; far below what makes validation itself expensive.
pub const MAX_SELECTIONS: usize = 5_000;
/// Most mutation fields (aliases included) one request may run.
pub const MAX_MUTATION_FIELDS: usize = 20;
/// Most top-level listings (aliases included) one query may run. Each one filters, pages and
/// counts over the whole store, whatever its page size, so the cost budget alone (which
/// counts what is returned) would let a flood of one-item pages scan the store thousands of
/// times.
pub const MAX_LISTINGS: usize = 10;
/// The root fields that list from the store.
const LISTINGS: [&str; 7] = [
    "apiKeys",
    "identities",
    "auditLog",
    "globalApiKeys",
    "projects",
    "getQueryStats",
    "getQueryStatSeries",
];

/// Creates each request's [`Gate`]; the documents that passed the shape checks are shared.
pub struct PermissionGate {
    documents: DocumentCache,
}

impl PermissionGate {
    pub fn new(documents: DocumentCache) -> Self {
        PermissionGate { documents }
    }
}

impl ExtensionFactory for PermissionGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Gate {
            documents: self.documents.clone(),
            reusable: Mutex::default(),
            operation_name: Mutex::default(),
            refusal: Mutex::default(),
        })
    }
}

/// One per request: carries the operation name and the verdict between the hooks.
struct Gate {
    documents: DocumentCache,
    /// The request's document as the cache holds it, when the request has no variables: its
    /// validation is then the same every time.
    reusable: Mutex<Option<Checked>>,
    operation_name: Mutex<Option<String>>,
    refusal: Mutex<Option<Refusal>>,
}

/// A permission refusal decided at parse time, answered (and audited) after validation.
pub(super) struct Refusal {
    /// `FORBIDDEN`, or `BAD_USER_INPUT` for a NUL in a string argument.
    code: &'static str,
    message: String,
    /// For a mutation: the names of its fields, for the audit log.
    mutation_fields: Option<Vec<String>>,
}

#[async_trait::async_trait]
impl Extension for Gate {
    /// Parses the document here, once, and bounds its shape before async-graphql walks it:
    /// its own recursion check expands fragments without memoising, so a kilobyte of
    /// fragments that double each other would cost minutes of CPU there.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        let wanted = request.operation_name.clone();
        if let Some(checked) = self.documents.get(&request.query, wanted.as_deref()) {
            request.set_parsed_query(checked.document());
            self.keep_if_reusable(&request, checked);
            return next.run(ctx, request).await;
        }
        let parsed = request
            .parsed_query()
            .map_err(|e| coded(e, "GRAPHQL_PARSE_FAILED"))?;
        if let Some(name) = wanted.as_deref() {
            let only = only_operation(parsed, name)?;
            request.set_parsed_query(only);
        }
        let document = request
            .parsed_query()
            .map_err(|e| coded(e, "GRAPHQL_PARSE_FAILED"))?;
        let shape = Shape::new(document);
        for (name, operation) in document.operations.iter() {
            if wanted.is_some() && name.map(async_graphql::Name::as_str) != wanted.as_deref() {
                continue;
            }
            let operation = &operation.node;
            let size = shape.size(&operation.selection_set.node)?;
            if size > MAX_SELECTIONS {
                return Err(bad_request(format!(
                    "the document selects {size} fields with its fragments expanded; at most {MAX_SELECTIONS}"
                )));
            }
            let fields = shape.root_fields(&operation.selection_set.node)?;
            if operation.ty == OperationType::Mutation && fields.len() > MAX_MUTATION_FIELDS {
                return Err(bad_request(format!(
                    "a request runs at most {MAX_MUTATION_FIELDS} mutation fields, this one {}",
                    fields.len()
                )));
            }
            let listings = fields
                .iter()
                .filter(|f| LISTINGS.contains(&f.node.name.node.as_str()))
                .count();
            if listings > MAX_LISTINGS {
                return Err(bad_request(format!(
                    "a request runs at most {MAX_LISTINGS} listings (apiKeys, identities, …), this one {listings}"
                )));
            }
        }
        let document = document.clone();
        if let Some(checked) = self
            .documents
            .insert(&request.query, wanted.as_deref(), document)
        {
            self.keep_if_reusable(&request, checked);
        }
        next.run(ctx, request).await
    }

    /// Decides what the key's permissions forbid in the operation that will run; the verdict
    /// is answered after validation.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| coded(e, "GRAPHQL_PARSE_FAILED"))?;
        let Some(caller) = ctx.data_opt::<Caller>() else {
            return Err(ServerError::new("request is not authenticated", None));
        };
        let wanted = self.operation_name.lock().ok().and_then(|n| n.clone());
        let refusal = refusal(caller, &document, variables, wanted.as_deref())?;
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = refusal;
        }
        Ok(document)
    }

    /// The checking schema stops here: what passed every check runs on the running schema
    /// (see [`super::KeydeckSchema`]), which has no extension to slow each field down.
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::new(Value::Null)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let reusable = self.reusable.lock().ok().and_then(|mut r| r.take());
        let result = if let Some(result) = reusable.as_ref().and_then(Checked::validation) {
            result
        } else {
            let result = next.run(ctx).await.map_err(explain_validation)?;
            if let Some(checked) = &reusable {
                checked.validated(result);
            }
            result
        };
        let refusal = self.refusal.lock().ok().and_then(|mut r| r.take());
        let Some(refusal) = refusal else {
            return Ok(result);
        };
        if let (Some(fields), Some(caller)) = (&refusal.mutation_fields, ctx.data_opt::<Caller>()) {
            audit_refusal(ctx, caller, fields, refusal.code, &refusal.message).await;
        }
        let message = match refusal.code {
            FORBIDDEN => format!("forbidden: {}", refusal.message),
            _ => refusal.message,
        };
        Err(vec![coded(ServerError::new(message, None), refusal.code)])
    }
}

impl Gate {
    /// Remembers `checked` for the validation hook when `request` has no variables.
    fn keep_if_reusable(&self, request: &Request, checked: Checked) {
        if request.variables.is_empty()
            && let Ok(mut slot) = self.reusable.lock()
        {
            *slot = Some(checked);
        }
    }
}

/// What the key's permissions forbid in the operation of `document` that will run (the one
/// named `wanted`, or every one).
pub(super) fn refusal(
    caller: &Caller,
    document: &ExecutableDocument,
    variables: &Variables,
    wanted: Option<&str>,
) -> ServerResult<Option<Refusal>> {
    let shape = Shape::new(document);
    let nul = nul::in_variables(variables) || nul::in_document(document);
    for (name, operation) in document.operations.iter() {
        if wanted.is_some() && name.map(async_graphql::Name::as_str) != wanted {
            continue;
        }
        if nul {
            let mutation = operation.node.ty == OperationType::Mutation;
            return Ok(Some(Refusal {
                code: BAD_USER_INPUT,
                message: nul::MESSAGE.to_owned(),
                mutation_fields: mutation
                    .then(|| mutation_fields(&shape, &operation.node))
                    .transpose()?,
            }));
        }
        if let Some(refusal) = permission_refusal(caller, &operation.node, &shape)? {
            return Ok(Some(refusal));
        }
    }
    Ok(None)
}

/// The document with only the operation named `name` and the fragments it spreads: what
/// runs is all that is validated and priced, as clients such as graphql_client send a whole
/// file of operations and pick one. A name that no operation has is refused here, as
/// async-graphql would refuse it, but before anything expands the document: left whole, its
/// other operations would reach async-graphql's unmemoised recursion check unmeasured (a
/// fragment bomb sent with a made-up name).
fn only_operation(document: &ExecutableDocument, name: &str) -> ServerResult<ExecutableDocument> {
    let unknown = || bad_request(format!("the document has no operation named `{name}`"));
    let DocumentOperations::Multiple(operations) = &document.operations else {
        return Err(unknown());
    };
    let Some((key, operation)) = operations.iter().find(|(n, _)| n.as_str() == name) else {
        return Err(unknown());
    };
    let mut wanted: Vec<&SelectionSet> = vec![&operation.node.selection_set.node];
    let mut fragments = HashMap::new();
    while let Some(set) = wanted.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => wanted.push(&field.node.selection_set.node),
                Selection::InlineFragment(inline) => wanted.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if fragments.contains_key(name) {
                        continue;
                    }
                    let Some(fragment) = document.fragments.get(name) else {
                        return Err(bad_request(format!("unknown fragment `{name}`")));
                    };
                    fragments.insert(name.clone(), fragment.clone());
                    wanted.push(&fragment.node.selection_set.node);
                }
            }
        }
    }
    Ok(ExecutableDocument {
        operations: DocumentOperations::Multiple(HashMap::from([(key.clone(), operation.clone())])),
        fragments,
    })
}

/// What the caller's key permissions forbid in `operation`, if anything.
fn permission_refusal<'a>(
    caller: &Caller,
    operation: &'a OperationDefinition,
    shape: &Shape<'a>,
) -> ServerResult<Option<Refusal>> {
    let mutation = operation.ty == OperationType::Mutation;
    let (needed, what) = if mutation {
        (
            Permission::Write,
            "mutations need a key with the WRITE permission",
        )
    } else {
        (
            Permission::Read,
            "queries need a key with the READ permission",
        )
    };
    let fields = || -> ServerResult<Option<Vec<String>>> {
        mutation
            .then(|| mutation_fields(shape, operation))
            .transpose()
    };
    if !caller.key.allows(needed) {
        return Ok(Some(Refusal {
            code: FORBIDDEN,
            message: what.to_owned(),
            mutation_fields: fields()?,
        }));
    }
    if mutation && !caller.key.allows(Permission::Read) {
        let mut reads = Vec::new();
        for root in shape.root_fields(&operation.selection_set.node)? {
            shape.reads_beyond_ids(&root.node.selection_set.node, Level::Reply, &mut reads)?;
        }
        if let Some(field) = reads.first() {
            return Ok(Some(Refusal {
                code: FORBIDDEN,
                message: format!(
                    "without the READ permission a mutation reply carries only `ok`, `error` and ids; `{field}` reads data"
                ),
                mutation_fields: fields()?,
            }));
        }
    }
    Ok(None)
}

/// The names of a mutation's root fields, for the audit log.
fn mutation_fields<'a>(
    shape: &Shape<'a>,
    operation: &'a OperationDefinition,
) -> ServerResult<Vec<String>> {
    Ok(shape
        .root_fields(&operation.selection_set.node)?
        .into_iter()
        .map(|f| f.node.name.node.to_string())
        .collect())
}

/// Where in a mutation reply a selection sits, for the WRITE-only rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// `{ ok error result }`
    Reply,
    /// Inside `error`: codes and messages about the request itself.
    Error,
    /// Inside `result`: objects and their ids only.
    Result,
}

/// Fields of a reply's `result` that only lead to objects or name them (`alsoDisabled`
/// lists the ids of keys the mutation disabled).
const ID_PATH_FIELDS: [&str; 7] = [
    "apiKey",
    "key",
    "identity",
    "project",
    "id",
    "token",
    "alsoDisabled",
];

/// The document's fragments, for walking selections as they will execute.
struct Shape<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Fragment sizes measured so far; `None` while one is being measured (a cycle).
    sizes: RefCell<HashMap<&'a str, Option<usize>>>,
    /// How many fragments are being measured, one inside the other: the recursion depth.
    /// Spreads are not brackets, so the nesting limit does not bound a chain of them.
    measuring: Cell<usize>,
}

/// Longest chain of fragments spreading fragments measured. A chain of tens of thousands fits
/// in a 1 MiB body and would overflow the worker's stack here, before async-graphql's own
/// recursion limit (32) is checked.
const MAX_FRAGMENT_CHAIN: usize = 64;

impl<'a> Shape<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Shape {
            fragments: &document.fragments,
            sizes: RefCell::new(HashMap::new()),
            measuring: Cell::new(0),
        }
    }

    fn fragment(&self, name: &str) -> ServerResult<&'a FragmentDefinition> {
        self.fragments
            .get(name)
            .map(|f| &f.node)
            .ok_or_else(|| bad_request(format!("unknown fragment `{name}`")))
    }

    /// How many fields `set` selects with every fragment expanded. Each fragment is sized
    /// once (memoised), so a document of fragments that double each other is measured in
    /// linear time rather than expanded; a fragment cycle is refused.
    fn size(&self, set: &'a SelectionSet) -> ServerResult<usize> {
        let mut total = 0usize;
        for item in &set.items {
            let n = match &item.node {
                Selection::Field(field) => 1 + self.size(&field.node.selection_set.node)?,
                Selection::InlineFragment(inline) => self.size(&inline.node.selection_set.node)?,
                Selection::FragmentSpread(spread) => {
                    self.fragment_size(spread.node.fragment_name.node.as_str())?
                }
            };
            total = total.saturating_add(n);
        }
        Ok(total)
    }

    fn fragment_size(&self, name: &'a str) -> ServerResult<usize> {
        let known = self.sizes.borrow().get(name).copied();
        match known {
            Some(Some(size)) => return Ok(size),
            Some(None) => {
                return Err(bad_request(format!(
                    "fragment `{name}` spreads itself (directly or through others)"
                )));
            }
            None => {}
        }
        if self.measuring.get() >= MAX_FRAGMENT_CHAIN {
            return Err(bad_request(format!(
                "fragments spread fragments more than {MAX_FRAGMENT_CHAIN} deep"
            )));
        }
        self.sizes.borrow_mut().insert(name, None);
        self.measuring.set(self.measuring.get() + 1);
        let size = self.size(&self.fragment(name)?.selection_set.node);
        self.measuring.set(self.measuring.get() - 1);
        let size = size?;
        self.sizes.borrow_mut().insert(name, Some(size));
        Ok(size)
    }

    /// The fields directly in `set`, through fragments.
    fn root_fields(&self, set: &'a SelectionSet) -> ServerResult<Vec<&'a Positioned<Field>>> {
        let mut out = Vec::new();
        self.collect_fields(set, &mut out, 0)?;
        Ok(out)
    }

    fn collect_fields(
        &self,
        set: &'a SelectionSet,
        out: &mut Vec<&'a Positioned<Field>>,
        depth: usize,
    ) -> ServerResult<()> {
        if depth > self.fragments.len() + 1 {
            return Err(bad_request("fragments spread each other in a cycle"));
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => out.push(field),
                Selection::InlineFragment(inline) => {
                    self.collect_fields(&inline.node.selection_set.node, out, depth + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self.fragment(spread.node.fragment_name.node.as_str())?;
                    self.collect_fields(&fragment.selection_set.node, out, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Collects the fields of a mutation reply that read data rather than say whether the
    /// mutation worked and what it made.
    fn reads_beyond_ids(
        &self,
        set: &'a SelectionSet,
        level: Level,
        reads: &mut Vec<String>,
    ) -> ServerResult<()> {
        for field in self.root_fields(set)? {
            let name = field.node.name.node.as_str();
            let next = match (level, name) {
                (_, "__typename") => continue,
                (Level::Reply, "ok") => continue,
                (Level::Reply, "error") | (Level::Error, _) => Level::Error,
                (Level::Reply, "result") => Level::Result,
                (Level::Result, name) if ID_PATH_FIELDS.contains(&name) => Level::Result,
                _ => {
                    reads.push(name.to_owned());
                    continue;
                }
            };
            self.reads_beyond_ids(&field.node.selection_set.node, next, reads)?;
        }
        Ok(())
    }
}

fn bad_request(message: impl Into<String>) -> ServerError {
    coded(ServerError::new(message, None), "BAD_REQUEST")
}

fn coded(mut error: ServerError, code: &str) -> ServerError {
    let mut extensions = error.extensions.take().unwrap_or_default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// async-graphql's validation errors with a code, and the cost and depth refusals saying
/// what the limits are and how lists are counted.
fn explain_validation(errors: Vec<ServerError>) -> Vec<ServerError> {
    errors
        .into_iter()
        .map(|error| match error.message.as_str() {
            "Query is too complex." => bad_request_as(
                "QUERY_TOO_COSTLY",
                format!(
                    "the query costs more than this service's budget of {}: a list costs its `first` (or its default page) times what one item selects, and aliases count separately; ask for smaller pages or fewer fields",
                    super::MAX_COMPLEXITY
                ),
            ),
            "Query is nested too deep." => bad_request_as(
                "QUERY_TOO_DEEP",
                format!("the query nests selections deeper than {}", super::MAX_DEPTH),
            ),
            _ => coded(error, "GRAPHQL_VALIDATION_FAILED"),
        })
        .collect()
}

fn bad_request_as(code: &str, message: String) -> ServerError {
    coded(ServerError::new(message, None), code)
}

/// A mutation refused here never reaches a resolver; it is audited all the same, under the
/// names of the fields it asked for (known names: the document passed validation).
async fn audit_refusal(
    ctx: &ExtensionContext<'_>,
    caller: &Caller,
    fields: &[String],
    code: &str,
    why: &str,
) {
    let Some(services) = ctx.data_opt::<super::Services>() else {
        return;
    };
    let action = if fields.is_empty() {
        "mutation".to_owned()
    } else {
        fields.join(",")
    };
    let audit = Audit {
        actor_id: Some(caller.identity_id()),
        action: &action,
    };
    if let Err(e) = services
        .store
        .append_audit(audit, None, code, Some(why))
        .await
    {
        tracing::error!(error = %e, "could not audit a refused mutation");
    }
}
