//! `ComputeStore`: the compute node's `ExecutionStore`, and `ComputeTransaction`, the handle a
//! `transaction` callback receives. Both expose the same operations, generated once by
//! `compute_ops!` over a `with` accessor that hands the operation the store or the open
//! transaction; what every store class has comes from `class::store_class!`.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::compute::ComputeTx;
use bacalhau_state::kv::memory::{MemoryBackend, MemoryWrite};
use bacalhau_state::{ComputeError, ExecutionStore};
use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::convert::{self, js};
use crate::error::{self, Family};

const F: Family = Family::Compute;

/// A compute node's execution store (Bacalhau's `ExecutionStore`) held in memory.
#[wasm_bindgen]
pub struct ComputeStore {
    inner: ExecutionStore<MemoryBackend>,
    manual: Option<Arc<ManualClock>>,
}

/// The handle passed to a `ComputeStore.transaction` callback: the store's operations, applied
/// atomically when the callback returns. Unusable (code `Closed`) once the callback returned.
#[wasm_bindgen]
pub struct ComputeTransaction {
    slot: Rc<Cell<*mut Tx>>,
}

crate::class::store_class! {
    classes: ComputeStore / ComputeTransaction,
    core: ComputeTx / ComputeError,
    errors: error::compute,
    build: in_memory_compute,
    callback: "(tx: ComputeTransaction) => unknown",
    stats: "ComputeStats",
}

macro_rules! compute_ops {
    ($ty:ident) => {
        #[wasm_bindgen]
        impl $ty {
            /// Stores a new execution record (state `Created` or `BidAccepted`, version 1) and
            /// returns it as stored.
            #[wasm_bindgen(js_name = createExecution, unchecked_return_type = "LocalExecutionState")]
            pub fn create_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "LocalExecutionStateInput")] record: JsValue,
            ) -> Result<JsValue, JsValue> {
                let rec = convert::object(F, record, "record")?;
                js(F, self.with(|r| r.create_execution(rec))?)
            }

            /// The execution with this ID, or with this unique ID prefix.
            #[wasm_bindgen(js_name = getExecution, unchecked_return_type = "LocalExecutionState")]
            pub fn get_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                js(F, self.with(|r| r.get_execution(&id))?)
            }

            /// The job's executions on this node, oldest update first.
            #[wasm_bindgen(js_name = getExecutions, unchecked_return_type = "LocalExecutionState[]")]
            pub fn get_executions(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] job_id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &job_id, "jobId")?;
                js(F, self.with(|r| r.get_executions(&id))?)
            }

            /// Every `Running` or `Publishing` execution (what a restart must resume).
            #[wasm_bindgen(js_name = getLiveExecutions, unchecked_return_type = "LocalExecutionState[]")]
            pub fn get_live_executions(&self) -> Result<JsValue, JsValue> {
                js(F, self.with(|r| r.get_live_executions())?)
            }

            /// The job's most recently updated active execution, or `null`.
            #[wasm_bindgen(js_name = getActiveExecution, unchecked_return_type = "LocalExecutionState | null")]
            pub fn get_active_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] job_id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &job_id, "jobId")?;
                js(F, self.with(|r| r.get_active_execution(&id))?)
            }

            /// The execution's state history, one page at a time.
            #[wasm_bindgen(js_name = getExecutionHistory, unchecked_return_type = "Page<LocalStateHistory>")]
            pub fn get_execution_history(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "PageRequest | null")] page: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                let page = convert::options(F, page, "page", &["limit"])?;
                js(F, self.with(|r| r.get_execution_history(&id, &page))?)
            }

            /// Every execution in ID order, one page at a time.
            #[wasm_bindgen(js_name = listExecutions, unchecked_return_type = "Page<LocalExecutionState>")]
            pub fn list_executions(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "PageRequest | null")] page: JsValue,
            ) -> Result<JsValue, JsValue> {
                let page = convert::options(F, page, "page", &["limit"])?;
                js(F, self.with(|r| r.list_executions(&page))?)
            }

            /// Applies a conditional state change and returns the updated record.
            #[wasm_bindgen(js_name = updateExecutionState, unchecked_return_type = "LocalExecutionState")]
            pub fn update_execution_state(
                &self,
                #[wasm_bindgen(unchecked_param_type = "UpdateExecutionStateRequest")] request: JsValue,
            ) -> Result<JsValue, JsValue> {
                let req = convert::request(F, request, "request")?;
                js(F, self.with(|r| r.update_execution_state(req))?)
            }

            /// Deletes an execution with its history and index entries.
            #[wasm_bindgen(js_name = deleteExecution)]
            pub fn delete_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<(), JsValue> {
                let id = convert::string(F, &id, "id")?;
                self.with(|r| r.delete_execution(&id)).map(drop)
            }

            /// Number of executions in `state` (exact).
            #[wasm_bindgen(js_name = getExecutionCount, unchecked_return_type = "bigint")]
            pub fn get_execution_count(
                &self,
                #[wasm_bindgen(unchecked_param_type = "LocalExecutionStateName | number")] state: JsValue,
            ) -> Result<JsValue, JsValue> {
                let state = convert::from_js(F, state, "state")?;
                js(F, self.with(|r| r.get_execution_count(state))?)
            }
        }
    };
}

compute_ops!(ComputeStore);
compute_ops!(ComputeTransaction);
