//! The simulation's plan: every random decision is a pure function of the seed and of where it
//! is taken (job index, slot, attempt), never of a running random stream. A job's IDs and fate
//! are therefore the same in every run with the same seed, whatever order jobs are driven in,
//! and a run that resumes after a kill makes exactly the decisions the killed run would have.

use std::collections::BTreeMap;

use bacalhau_state::model::{Job, JobType, Task};

/// SplitMix64 finaliser.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit hash of a sequence of numbers.
pub fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x6A09_E667_F3BC_C908u64;
    for &p in parts {
        h = splitmix(h ^ splitmix(p));
    }
    h
}

/// A uniform number in [0, 1).
pub fn unit(parts: &[u64]) -> f64 {
    (mix(parts) >> 11) as f64 / (1u64 << 53) as f64
}

/// A version-4-shaped UUID from 128 bits.
pub fn uuid(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

// Purpose tags, so that different decisions never share a hash input.
const T_JOB_ID: u64 = 1;
const T_TYPE: u64 = 2;
const T_NS: u64 = 3;
const T_LABELS: u64 = 4;
const T_COUNT: u64 = 5;
const T_STOP: u64 = 6;
const T_EXEC_ID: u64 = 7;
const T_NODE: u64 = 8;
const T_DECLINE: u64 = 9;
const T_REJECT: u64 = 10;
const T_FAIL: u64 = 11;
const T_PUBLISH: u64 = 12;
const T_EVAL: u64 = 13;
const T_PRIORITY: u64 = 14;

/// Probability that a compute node declines to bid.
pub const DECLINE_RATE: f64 = 0.04;
/// Probability that the requester rejects a bid it asked approval for.
pub const REJECT_RATE: f64 = 0.04;

/// The simulation's knobs that decisions depend on.
#[derive(Clone, Debug)]
pub struct Params {
    pub seed: u64,
    pub nodes: usize,
    pub failure_rate: f64,
    pub max_retries: u32,
}

/// What is decided about job `index` up front.
#[derive(Clone, Debug)]
pub struct JobPlan {
    pub index: u64,
    pub id: String,
    pub job_type: JobType,
    /// Executions wanted at once: `Count` for batch/service, one per node for daemon/ops.
    pub slots: usize,
    /// The user stops the job (batch: while its first execution runs; service/daemon: once it
    /// runs steadily).
    pub user_stop: bool,
    pub job: Job,
}

/// What is decided about one execution attempt.
#[derive(Clone, Debug)]
pub struct ExecPlan {
    pub id: String,
    pub node: usize,
    pub declines: bool,
    pub requester_rejects: bool,
    pub fails: bool,
    pub publishes: bool,
}

impl Params {
    pub fn job_id(&self, index: u64) -> String {
        let s = self.seed;
        format!("j-{}", uuid(mix(&[s, T_JOB_ID, index, 0]), mix(&[s, T_JOB_ID, index, 1])))
    }

    pub fn job(&self, index: u64) -> JobPlan {
        let s = self.seed;
        let r = unit(&[s, T_TYPE, index]);
        let job_type = if r < 0.5 {
            JobType::Batch
        } else if r < 0.65 {
            JobType::Service
        } else if r < 0.8 {
            JobType::Daemon
        } else {
            JobType::Ops
        };
        let k = self.nodes.max(1);
        let slots = match job_type {
            JobType::Batch => 1 + (mix(&[s, T_COUNT, index]) % k.min(3) as u64) as usize,
            JobType::Service => 1 + (mix(&[s, T_COUNT, index]) % k.min(2) as u64) as usize,
            JobType::Daemon | JobType::Ops => k,
        };
        let stop_p = match job_type {
            JobType::Batch => 0.03,
            JobType::Ops => 0.0,
            JobType::Service | JobType::Daemon => 0.5,
        };
        let user_stop = unit(&[s, T_STOP, index]) < stop_p;
        let namespace = ["default", "default", "team-a", "team-b"][(mix(&[s, T_NS, index]) % 4) as usize];
        let lh = mix(&[s, T_LABELS, index]);
        let mut labels = BTreeMap::new();
        labels.insert("tier".to_string(), ["gold", "silver", "bronze"][(lh % 3) as usize].to_string());
        labels.insert("env".to_string(), ["prod", "dev"][((lh >> 8) % 2) as usize].to_string());
        if (lh >> 16) % 5 == 0 {
            labels.insert("gpu".to_string(), "true".to_string());
        }
        let mut meta = BTreeMap::new();
        meta.insert("simulate.seed".to_string(), s.to_string());
        meta.insert("simulate.index".to_string(), index.to_string());
        let id = self.job_id(index);
        let job = Job {
            id: id.clone(),
            name: format!("sim-{index:05}-{}", job_type.as_str()),
            namespace: namespace.to_string(),
            job_type: job_type.as_str().to_string(),
            priority: (mix(&[s, T_PRIORITY, index]) % 100) as i64,
            count: if job_type.is_long_running() || job_type == JobType::Batch { slots as i64 } else { 0 },
            meta,
            labels,
            tasks: vec![Task::new("main", if lh % 7 == 0 { "wasm" } else { "docker" })],
            version: 1,
            ..Job::default()
        };
        JobPlan { index, id, job_type, slots, user_stop, job }
    }

    pub fn exec(&self, job: &JobPlan, slot: usize, attempt: u32) -> ExecPlan {
        let (s, i, sl, a) = (self.seed, job.index, slot as u64, u64::from(attempt));
        let k = self.nodes.max(1);
        let node = match job.job_type {
            JobType::Daemon | JobType::Ops => slot % k,
            _ => ((mix(&[s, T_NODE, i]) as usize) + slot + attempt as usize) % k,
        };
        ExecPlan {
            id: format!("e-{}", uuid(mix(&[s, T_EXEC_ID, i, sl, a, 0]), mix(&[s, T_EXEC_ID, i, sl, a, 1]))),
            node,
            declines: unit(&[s, T_DECLINE, i, sl, a]) < DECLINE_RATE,
            requester_rejects: unit(&[s, T_REJECT, i, sl, a]) < REJECT_RATE,
            fails: unit(&[s, T_FAIL, i, sl, a]) < self.failure_rate,
            publishes: unit(&[s, T_PUBLISH, i, sl, a]) < 0.5,
        }
    }

    /// The ID of the evaluation a job's event creates (`what`: 0 register, 1 cancel, or a hash of
    /// the execution whose end triggered it).
    pub fn eval_id(&self, job: &JobPlan, what: u64) -> String {
        uuid(mix(&[self.seed, T_EVAL, job.index, what, 0]), mix(&[self.seed, T_EVAL, job.index, what, 1]))
    }
}

/// A stable number for an ID, to key evaluation IDs by execution.
pub fn id_hash(id: &str) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    mix(&[h, 2])
}
