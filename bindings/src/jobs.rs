//! `JobStore`: the requester's job store, and `JobTransaction`, the handle a `transaction`
//! callback receives. Both expose the same operations, generated once by `job_ops!` over a
//! `with` accessor that hands the operation the store or the open transaction; what every store
//! class has comes from `class::store_class!`.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::jobstore::JobTx;
use bacalhau_state::kv::memory::{MemoryBackend, MemoryWrite};
use bacalhau_state::{JobStore as CoreJobStore, JobStoreError};
use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::convert::{self, js};
use crate::error::{self, Family};

const F: Family = Family::Jobs;

/// A requester's job store (jobs, executions, evaluations, history, events) held in memory.
#[wasm_bindgen]
pub struct JobStore {
    inner: CoreJobStore<MemoryBackend>,
    manual: Option<Arc<ManualClock>>,
}

/// The handle passed to a `JobStore.transaction` callback: the store's operations, applied
/// atomically when the callback returns. Unusable (code `Closed`) once the callback returned.
#[wasm_bindgen]
pub struct JobTransaction {
    slot: Rc<Cell<*mut Tx>>,
}

crate::class::store_class! {
    classes: JobStore / JobTransaction,
    core: JobTx / JobStoreError,
    errors: error::jobs,
    build: in_memory_jobs,
    callback: "(tx: JobTransaction) => unknown",
    stats: "JobStoreStats",
}

/// The `u32` fields of the query types (serde-wasm-bindgen reads those from numbers only).
const PAGING: &[&str] = &["limit", "offset"];

macro_rules! job_ops {
    ($ty:ident) => {
        #[wasm_bindgen]
        impl $ty {
            /// Stores a new job (state `Pending`, revision 1, times from the store's clock) and
            /// returns it as stored.
            #[wasm_bindgen(js_name = createJob, unchecked_return_type = "Job")]
            pub fn create_job(
                &self,
                #[wasm_bindgen(unchecked_param_type = "JobInput")] job: JsValue,
            ) -> Result<JsValue, JsValue> {
                let job = convert::object(F, job, "job")?;
                js(F, self.with(|r| r.create_job(job))?)
            }

            /// The job with this ID, or with this unique ID prefix.
            #[wasm_bindgen(js_name = getJob, unchecked_return_type = "Job")]
            pub fn get_job(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                js(F, self.with(|r| r.get_job(&id))?)
            }

            /// Jobs matching `query`, one page at a time.
            #[wasm_bindgen(js_name = getJobs, unchecked_return_type = "Page<Job>")]
            pub fn get_jobs(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "JobQuery | null")] query: JsValue,
            ) -> Result<JsValue, JsValue> {
                let q = convert::options(F, query, "query", PAGING)?;
                js(F, self.with(|r| r.get_jobs(&q))?)
            }

            /// Every non-terminal job, in ID order.
            #[wasm_bindgen(js_name = getInProgressJobs, unchecked_return_type = "Job[]")]
            pub fn get_in_progress_jobs(&self) -> Result<JsValue, JsValue> {
                js(F, self.with(|r| r.get_in_progress_jobs())?)
            }

            /// The job's history in write order, filtered and paged.
            #[wasm_bindgen(js_name = getJobHistory, unchecked_return_type = "Page<JobHistory>")]
            pub fn get_job_history(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] job_id: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "JobHistoryQuery | null")] query: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &job_id, "jobId")?;
                let q = convert::options(F, query, "query", PAGING)?;
                js(F, self.with(|r| r.get_job_history(&id, &q))?)
            }

            /// Applies a conditional job state change and returns the updated job.
            #[wasm_bindgen(js_name = updateJobState, unchecked_return_type = "Job")]
            pub fn update_job_state(
                &self,
                #[wasm_bindgen(unchecked_param_type = "UpdateJobStateRequest")] request: JsValue,
            ) -> Result<JsValue, JsValue> {
                let req = convert::request(F, request, "request")?;
                js(F, self.with(|r| r.update_job_state(req))?)
            }

            /// Deletes a job with its executions, evaluations, history and index entries.
            #[wasm_bindgen(js_name = deleteJob)]
            pub fn delete_job(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<(), JsValue> {
                let id = convert::string(F, &id, "id")?;
                self.with(|r| r.delete_job(&id)).map(drop)
            }

            /// Stores a new execution of an existing job and returns it as stored.
            #[wasm_bindgen(js_name = createExecution, unchecked_return_type = "Execution")]
            pub fn create_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "ExecutionInput")] execution: JsValue,
            ) -> Result<JsValue, JsValue> {
                let e = convert::object(F, execution, "execution")?;
                js(F, self.with(|r| r.create_execution(e))?)
            }

            /// The execution with this ID, or with this unique ID prefix.
            #[wasm_bindgen(js_name = getExecution, unchecked_return_type = "Execution")]
            pub fn get_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                js(F, self.with(|r| r.get_execution(&id))?)
            }

            /// Executions matching every given filter, in ID order.
            #[wasm_bindgen(js_name = getExecutions, unchecked_return_type = "Execution[]")]
            pub fn get_executions(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "GetExecutionsOptions | null")] options: JsValue,
            ) -> Result<JsValue, JsValue> {
                let o = convert::options(F, options, "options", &[])?;
                js(F, self.with(|r| r.get_executions(&o))?)
            }

            /// Applies a conditional execution patch and returns the updated execution.
            #[wasm_bindgen(js_name = updateExecution, unchecked_return_type = "Execution")]
            pub fn update_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "UpdateExecutionRequest")] request: JsValue,
            ) -> Result<JsValue, JsValue> {
                let req = convert::request(F, request, "request")?;
                js(F, self.with(|r| r.update_execution(req))?)
            }

            /// Stores a new evaluation of an existing job.
            #[wasm_bindgen(js_name = createEvaluation, unchecked_return_type = "Evaluation")]
            pub fn create_evaluation(
                &self,
                #[wasm_bindgen(unchecked_param_type = "EvaluationInput")] evaluation: JsValue,
            ) -> Result<JsValue, JsValue> {
                let ev = convert::object(F, evaluation, "evaluation")?;
                js(F, self.with(|r| r.create_evaluation(ev))?)
            }

            /// The evaluation with this ID, or with this unique ID prefix.
            #[wasm_bindgen(js_name = getEvaluation, unchecked_return_type = "Evaluation")]
            pub fn get_evaluation(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                js(F, self.with(|r| r.get_evaluation(&id))?)
            }

            /// The job's evaluations, in ID order.
            #[wasm_bindgen(js_name = getEvaluations, unchecked_return_type = "Evaluation[]")]
            pub fn get_evaluations(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] job_id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &job_id, "jobId")?;
                js(F, self.with(|r| r.get_evaluations(&id))?)
            }

            /// Applies a conditional evaluation status change.
            #[wasm_bindgen(js_name = updateEvaluation, unchecked_return_type = "Evaluation")]
            pub fn update_evaluation(
                &self,
                #[wasm_bindgen(unchecked_param_type = "UpdateEvaluationRequest")] request: JsValue,
            ) -> Result<JsValue, JsValue> {
                let req = convert::request(F, request, "request")?;
                js(F, self.with(|r| r.update_evaluation(req))?)
            }

            /// Deletes an evaluation and its index entry.
            #[wasm_bindgen(js_name = deleteEvaluation)]
            pub fn delete_evaluation(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<(), JsValue> {
                let id = convert::string(F, &id, "id")?;
                self.with(|r| r.delete_evaluation(&id)).map(drop)
            }

            /// Number of jobs in `state` (exact).
            #[wasm_bindgen(js_name = getJobCount, unchecked_return_type = "bigint")]
            pub fn get_job_count(
                &self,
                #[wasm_bindgen(unchecked_param_type = "JobStateName | number")] state: JsValue,
            ) -> Result<JsValue, JsValue> {
                let state = convert::from_js(F, state, "state")?;
                js(F, self.with(|r| r.get_job_count(state))?)
            }

            /// Number of executions in compute state `state` (exact).
            #[wasm_bindgen(js_name = getExecutionCount, unchecked_return_type = "bigint")]
            pub fn get_execution_count(
                &self,
                #[wasm_bindgen(unchecked_param_type = "ExecutionStateName | number")] state: JsValue,
            ) -> Result<JsValue, JsValue> {
                let state = convert::from_js(F, state, "state")?;
                js(F, self.with(|r| r.get_execution_count(state))?)
            }
        }
    };
}

job_ops!(JobStore);
job_ops!(JobTransaction);
