//! Extraction of Bacalhau v1.2 records from the compute (`executions.db`) and requester
//! (`jobs.db`) bbolt stores, as JSON values (SPEC §3.5 and §4.5).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::bucket::BucketId;
use super::error::show_key;
use super::{BoltError, BoltFile, Bucket, Entry};

/// The contents of a compute node's execution store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComputeDump {
    /// `execution`: execution ID → `LocalExecutionState` JSON, in ID (byte) order.
    pub executions: Vec<(String, Value)>,
    /// `execution-history`: execution ID → `LocalStateHistory` JSON entries in write order (keys
    /// sorted by their numeric value, so `"1000"` comes after `"999"`, unlike bbolt's byte order).
    pub history: BTreeMap<String, Vec<Value>>,
    /// `execution-index`: job ID → execution IDs in byte order.
    pub job_index: BTreeMap<String, Vec<String>>,
    /// `execution-live-index`: IDs of executions that were Running or Publishing, in byte order.
    pub live_ids: Vec<String>,
}

/// One job of the requester's job store (the bucket `jobs/<id>`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobDump {
    /// The job ID. IDs containing `/` are stored as nested buckets; they are rejoined here.
    pub id: String,
    /// The `spec` value: the current `Job` document.
    pub spec: Value,
    /// `executions`: execution ID → `Execution` JSON.
    pub executions: BTreeMap<String, Value>,
    /// `evaluations`: evaluation ID → `Evaluation` JSON.
    pub evaluations: BTreeMap<String, Value>,
    /// `job_history`: job-level `JobHistory` JSON entries in write (sequence) order.
    pub job_history: Vec<Value>,
    /// `execution_history`: execution-level `JobHistory` JSON entries in write (sequence) order.
    pub execution_history: Vec<Value>,
}

/// The contents of a requester node's job store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequesterDump {
    /// Every job, in ID (byte) order.
    pub jobs: Vec<JobDump>,
    /// `idx_inprogress`: IDs of non-terminal jobs, in byte order.
    pub in_progress: Vec<String>,
    /// `idx_namespaces`: namespace → job IDs.
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// `idx_tags`: lower-cased label key → job IDs. Label keys containing `/` are nested buckets
    /// on disk (`idx_tags/a/b`); they are rejoined to `a/b` here.
    pub tags: BTreeMap<String, Vec<String>>,
    /// For each key of [`RequesterDump::tags`], the bucket names holding it, starting with
    /// `idx_tags` (e.g. `["idx_tags", "team", "oncall"]` for `team/oncall`).
    pub tag_bucket_paths: BTreeMap<String, Vec<String>>,
    /// `idx_executions`: execution ID → owning job IDs (normally exactly one).
    pub execution_jobs: BTreeMap<String, Vec<String>>,
    /// `idx_evaluations`: evaluation ID → owning job IDs (normally exactly one).
    pub evaluation_jobs: BTreeMap<String, Vec<String>>,
}

/// Reads every record of a compute store. Fails with [`BoltError::UnexpectedLayout`] when a
/// compute root bucket is missing or holds something other than the documented shape.
pub fn read_compute(file: &BoltFile) -> Result<ComputeDump, BoltError> {
    let mut w = Walk::new(file);
    let mut dump = ComputeDump::default();
    let b = w.root_bucket("execution")?;
    for e in w.entries(&b)? {
        let (key, value) = w.value_only(&b, e)?;
        let id = w.utf8(&b, key)?;
        let json = w.json(&b, key, value)?;
        dump.executions.push((id, json));
    }
    let b = w.root_bucket("execution-history")?;
    for e in w.entries(&b)? {
        let (key, sub) = w.bucket_only(&b, e)?;
        let id = w.utf8(&b, key)?;
        let items = w.sequence_values(&sub)?;
        dump.history.insert(id, items);
    }
    let b = w.root_bucket("execution-index")?;
    for e in w.entries(&b)? {
        let (key, sub) = w.bucket_only(&b, e)?;
        let job = w.utf8(&b, key)?;
        let ids = w.keys(&sub)?;
        dump.job_index.insert(job, ids);
    }
    let b = w.root_bucket("execution-live-index")?;
    dump.live_ids = w.keys(&b)?;
    Ok(dump)
}

/// Reads every job and index of a requester store. Job IDs containing `/` (nested buckets under
/// `jobs`, SPEC W-J6) are found by recursion: a bucket below `jobs` without a `spec` value is a
/// path segment, and a job bucket's sub-buckets other than `executions`, `evaluations`,
/// `job_history` and `execution_history` are further segments.
pub fn read_requester(file: &BoltFile) -> Result<RequesterDump, BoltError> {
    let mut w = Walk::new(file);
    let mut dump = RequesterDump::default();
    let jobs = w.root_bucket("jobs")?;
    let mut segs = Vec::new();
    w.jobs(&jobs, &mut segs, &mut dump.jobs)?;
    dump.jobs.sort_by(|a, b| a.id.cmp(&b.id));
    let b = w.root_bucket("idx_inprogress")?;
    dump.in_progress = w.keys(&b)?;
    let mut ignore = BTreeMap::new();
    for (name, out, paths) in [
        ("idx_namespaces", &mut dump.namespaces, &mut ignore),
        ("idx_tags", &mut dump.tags, &mut dump.tag_bucket_paths),
        ("idx_executions", &mut dump.execution_jobs, &mut BTreeMap::new()),
        ("idx_evaluations", &mut dump.evaluation_jobs, &mut BTreeMap::new()),
    ] {
        let b = w.root_bucket(name)?;
        let mut segs = vec![name.to_string()];
        w.index(&b, &mut segs, out, paths)?;
        for ids in out.values_mut() {
            ids.sort();
            ids.dedup();
        }
    }
    Ok(dump)
}

/// A traversal that enters each bucket tree at most once, so a corrupt file whose buckets share
/// trees cannot make the dump exponentially long.
struct Walk<'f> {
    file: &'f BoltFile,
    seen: BTreeSet<BucketId>,
}

impl<'f> Walk<'f> {
    fn new(file: &'f BoltFile) -> Self {
        Walk { file, seen: BTreeSet::new() }
    }

    fn layout(&self, reason: String) -> BoltError {
        BoltError::UnexpectedLayout { path: self.file.path().to_path_buf(), reason }
    }

    fn root_bucket(&mut self, name: &str) -> Result<Bucket<'f>, BoltError> {
        self.file.root().bucket(name.as_bytes())?.ok_or_else(|| self.layout(format!("missing root bucket {name:?}")))
    }

    fn entries(&mut self, b: &Bucket<'f>) -> Result<Vec<Entry<'f>>, BoltError> {
        if !self.seen.insert(b.id()) {
            return Err(self.file.corrupt(format!("bucket {:?} shares its tree with another bucket", b.path())));
        }
        b.entries()
    }

    fn value_only(&self, b: &Bucket<'f>, e: Entry<'f>) -> Result<(&'f [u8], &'f [u8]), BoltError> {
        match e {
            Entry::Value { key, value } => Ok((key, value)),
            Entry::Bucket { key, .. } => {
                Err(self.layout(format!("unexpected nested bucket {:?} in bucket {:?}", show_key(key), b.path())))
            }
        }
    }

    fn bucket_only(&self, b: &Bucket<'f>, e: Entry<'f>) -> Result<(&'f [u8], Bucket<'f>), BoltError> {
        match e {
            Entry::Bucket { key, bucket } => Ok((key, bucket)),
            Entry::Value { key, .. } => Err(self.layout(format!(
                "unexpected plain value {:?} in bucket {:?} (expected nested buckets)",
                show_key(key),
                b.path()
            ))),
        }
    }

    fn utf8(&self, b: &Bucket<'f>, key: &[u8]) -> Result<String, BoltError> {
        String::from_utf8(key.to_vec()).map_err(|_| BoltError::InvalidKey {
            path: self.file.path().to_path_buf(),
            bucket: b.path(),
            key: show_key(key),
            reason: "not UTF-8".into(),
        })
    }

    fn json(&self, b: &Bucket<'f>, key: &[u8], value: &[u8]) -> Result<Value, BoltError> {
        serde_json::from_slice(value).map_err(|e| BoltError::InvalidJson {
            path: self.file.path().to_path_buf(),
            bucket: b.path(),
            key: show_key(key),
            reason: e.to_string(),
        })
    }

    /// The keys of a bucket that holds only markers (`id → ""`), in byte order.
    fn keys(&mut self, b: &Bucket<'f>) -> Result<Vec<String>, BoltError> {
        let mut out = Vec::new();
        for e in self.entries(b)? {
            let (key, _) = self.value_only(b, e)?;
            out.push(self.utf8(b, key)?);
        }
        Ok(out)
    }

    /// The JSON values of a history bucket keyed by decimal sequence numbers, in numeric order.
    /// An empty key (what v1.2 writes when `NextSequence` fails) counts as 0.
    fn sequence_values(&mut self, b: &Bucket<'f>) -> Result<Vec<Value>, BoltError> {
        let mut items = Vec::new();
        for e in self.entries(b)? {
            let (key, value) = self.value_only(b, e)?;
            let seq = if key.is_empty() {
                Some(0)
            } else if key.iter().all(u8::is_ascii_digit) && key.len() <= 20 {
                std::str::from_utf8(key).ok().and_then(|s| s.parse::<u64>().ok())
            } else {
                None
            }
            .ok_or_else(|| BoltError::InvalidKey {
                path: self.file.path().to_path_buf(),
                bucket: b.path(),
                key: show_key(key),
                reason: "expected a decimal sequence number".into(),
            })?;
            items.push((seq, key, self.json(b, key, value)?));
        }
        items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        Ok(items.into_iter().map(|(_, _, v)| v).collect())
    }

    fn jobs(&mut self, b: &Bucket<'f>, segs: &mut Vec<String>, out: &mut Vec<JobDump>) -> Result<(), BoltError> {
        let entries = self.entries(b)?;
        let is_job =
            !segs.is_empty() && entries.iter().any(|e| matches!(e, Entry::Value { key, .. } if *key == b"spec"));
        let mut job = is_job.then(|| JobDump {
            id: segs.join("/"),
            spec: Value::Null,
            executions: BTreeMap::new(),
            evaluations: BTreeMap::new(),
            job_history: Vec::new(),
            execution_history: Vec::new(),
        });
        for e in entries {
            match (&mut job, e) {
                (Some(job), Entry::Value { key, value }) if key == b"spec" => {
                    job.spec = self.json(b, key, value)?;
                }
                (Some(job), Entry::Bucket { key, bucket }) if key == b"executions" => {
                    job.executions = self.json_map(&bucket)?;
                }
                (Some(job), Entry::Bucket { key, bucket }) if key == b"evaluations" => {
                    job.evaluations = self.json_map(&bucket)?;
                }
                (Some(job), Entry::Bucket { key, bucket }) if key == b"job_history" => {
                    job.job_history = self.sequence_values(&bucket)?;
                }
                (Some(job), Entry::Bucket { key, bucket }) if key == b"execution_history" => {
                    job.execution_history = self.sequence_values(&bucket)?;
                }
                (_, Entry::Bucket { key, bucket }) => {
                    segs.push(self.utf8(b, key)?);
                    self.jobs(&bucket, segs, out)?;
                    segs.pop();
                }
                (_, Entry::Value { key, .. }) => {
                    return Err(self.layout(format!(
                        "unexpected plain value {:?} in job bucket {:?}",
                        show_key(key),
                        b.path()
                    )))
                }
            }
        }
        out.extend(job);
        Ok(())
    }

    fn json_map(&mut self, b: &Bucket<'f>) -> Result<BTreeMap<String, Value>, BoltError> {
        let mut out = BTreeMap::new();
        for e in self.entries(b)? {
            let (key, value) = self.value_only(b, e)?;
            out.insert(self.utf8(b, key)?, self.json(b, key, value)?);
        }
        Ok(out)
    }

    /// Reads a bucket-backed multimap index: plain keys are identifiers filed under the label
    /// made of the bucket names below the index root; nested buckets are further label segments.
    /// A bucket with only nested buckets is a pure path segment, not a label of its own.
    fn index(
        &mut self,
        b: &Bucket<'f>,
        segs: &mut Vec<String>,
        out: &mut BTreeMap<String, Vec<String>>,
        paths: &mut BTreeMap<String, Vec<String>>,
    ) -> Result<(), BoltError> {
        let entries = self.entries(b)?;
        let mut ids = Vec::new();
        let mut subs = Vec::new();
        for e in entries {
            match e {
                Entry::Value { key, .. } => ids.push(self.utf8(b, key)?),
                Entry::Bucket { key, bucket } => subs.push((key, bucket)),
            }
        }
        if segs.len() == 1 && !ids.is_empty() {
            return Err(self.layout(format!("unexpected plain value {:?} at the top of index {:?}", ids[0], segs[0])));
        }
        if segs.len() > 1 && (!ids.is_empty() || subs.is_empty()) {
            let label = segs[1..].join("/");
            paths.insert(label.clone(), segs.clone());
            out.entry(label).or_default().extend(ids);
        }
        for (key, sub) in subs {
            segs.push(self.utf8(b, key)?);
            self.index(&sub, segs, out, paths)?;
            segs.pop();
        }
        Ok(())
    }
}
