//! TypeScript declarations for the records, requests and results. The methods take and return
//! `JsValue` (so that every conversion error is ours to report), and name these types with
//! `unchecked_param_type` / `unchecked_return_type`; this section defines them, so the generated
//! `.d.ts` has no `any` on the public surface.
//!
//! Shapes follow serde: records keep Bacalhau's PascalCase keys, requests use camelCase. Outputs
//! carry every 64-bit integer as `bigint` and `None` as `null`; inputs (`*Input`, requests)
//! accept `number` or `bigint` for integers and a name or number for states.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** An integer argument: a safe-integer `number` or a `bigint`. */
export type Int = number | bigint;
/** Any JSON-like value kept verbatim (task specs, resources, publisher params). Integers come back as `number` within 32 bits (signed or unsigned), as `bigint` beyond. */
export type Opaque = unknown;

export type JobStateName = "Undefined" | "Pending" | "Running" | "Completed" | "Failed" | "Stopped";
export type ExecutionStateName = "Undefined" | "New" | "AskForBid" | "AskForBidAccepted" | "AskForBidRejected" | "BidAccepted" | "BidRejected" | "Completed" | "Failed" | "Cancelled";
export type ExecutionDesiredStateName = "Pending" | "Running" | "Stopped";
export type LocalExecutionStateName = "Undefined" | "Created" | "BidAccepted" | "Running" | "Publishing" | "Completed" | "Failed" | "Cancelled";
export type EvaluationStatusName = "blocked" | "pending" | "complete" | "failed" | "canceled";
export type JobHistoryTypeName = "Undefined" | "JobLevel" | "ExecutionLevel";

/** `State[T]`: execution states are numbers in Bacalhau's JSON, job states names. `Message` is omitted when empty. */
export interface State<T> { StateType: T; Message?: string }

export interface Constraint { Key: string; Operator: string; Values: string[] }
export interface Task { Name: string; Engine: { Type: string; Params?: Record<string, Opaque> }; [key: string]: Opaque }
export interface SpecConfig { Type: string; Params: Record<string, Opaque> }
export interface RunCommandResult { Stdout: string; StdoutTruncated: boolean; stderr: string; StderrTruncated: boolean; ExitCode: bigint; ErrorMsg: string }
export interface AllocatedResources { Tasks: Record<string, Opaque> }

export interface Job {
  ID: string; Name: string; Namespace: string; Type: string; Priority: bigint; Count: bigint;
  Constraints: Constraint[]; Meta: Record<string, string>; Labels: Record<string, string>; Tasks: Task[];
  State: State<JobStateName>; Version: bigint; Revision: bigint; CreateTime: bigint; ModifyTime: bigint;
}

export interface Execution {
  ID: string; Namespace: string; EvalID: string; Name: string; NodeID: string; JobID: string;
  /** Present only when read with `includeJob` (job store) or as sent by the requester (compute store). */
  Job?: Job;
  AllocatedResources: AllocatedResources;
  DesiredState: State<number>; ComputeState: State<number>;
  PublishedResult: SpecConfig | null; RunOutput: RunCommandResult | null;
  PreviousExecution: string; NextExecution: string; FollowupEvalID: string;
  Revision: bigint; CreateTime: bigint; ModifyTime: bigint;
}

/** A compute node's record of one execution. Times are RFC 3339 strings (nanosecond precision, UTC). */
export interface LocalExecutionState {
  Execution: Execution; RequesterNodeID: string; State: number; Version: bigint;
  CreateTime: string; UpdateTime: string; LatestComment: string;
}

export interface Evaluation {
  ID: string; Namespace: string; JobID: string; TriggeredBy: string; Priority: bigint; Type: string;
  Status: EvaluationStatusName; Comment: string; WaitUntil: string; CreateTime: bigint; ModifyTime: bigint;
}

export interface StateChange<T> { Previous?: T; New?: T }
export interface JobHistory {
  Type: JobHistoryTypeName; JobID: string; NodeID?: string; ExecutionID?: string;
  JobState?: StateChange<JobStateName>; ExecutionState?: StateChange<number>; DesiredState?: StateChange<number>;
  NewRevision: bigint; Comment?: string; Time: string; SeqNum?: bigint;
}
export interface LocalStateHistory {
  ExecutionID: string; PreviousState: number; NewState: number; NewVersion: bigint; Comment: string; Time: string;
}

/** A time: RFC 3339 text or integer nanoseconds since the Unix epoch. */
export type TimeInput = string | Int;
type InputState<T> = { StateType?: T; Message?: string };
/** What `createJob` accepts: any subset of a Job; integers as number or bigint, states by name or number. */
export type JobInput = {
  [K in keyof Job]?: K extends "State" ? InputState<JobStateName | number>
    : Job[K] extends bigint ? Int : Job[K];
};
/** What `createExecution` (job store) accepts. */
export type ExecutionInput = {
  [K in keyof Execution]?: K extends "Job" ? JobInput
    : K extends "DesiredState" ? InputState<ExecutionDesiredStateName | number>
    : K extends "ComputeState" ? InputState<ExecutionStateName | number>
    : Execution[K] extends bigint ? Int : Execution[K];
};
/** What `ComputeStore.createExecution` accepts. */
export interface LocalExecutionStateInput {
  Execution: ExecutionInput; RequesterNodeID?: string; State?: LocalExecutionStateName | number;
  Version?: Int; CreateTime?: TimeInput; UpdateTime?: TimeInput; LatestComment?: string;
}
/** What `createEvaluation` accepts. */
export type EvaluationInput = {
  [K in keyof Evaluation]?: K extends "WaitUntil" ? TimeInput : Evaluation[K] extends bigint ? Int : Evaluation[K];
};

/** One page of results; pass `nextToken` back for the next one (`null` on the last page). */
export interface Page<T> { items: T[]; nextToken: string | null }
export interface PageRequest { limit?: Int; nextToken?: string | null }

export interface UpdateExecutionStateRequest {
  executionId: string; newState: LocalExecutionStateName | number;
  expectedStates?: (LocalExecutionStateName | number)[]; expectedVersion?: Int; comment?: string;
}
export interface UpdateJobStateRequest {
  jobId: string; newState: JobStateName | number; expectedState?: JobStateName | number;
  unexpectedStates?: (JobStateName | number)[]; expectedRevision?: Int; comment?: string;
}
/** Only the given fields change; `null` clears `publishedResult` / `runOutput`. */
export interface ExecutionPatch {
  computeState?: ExecutionStateName | number; computeMessage?: string;
  desiredState?: ExecutionDesiredStateName | number; desiredMessage?: string;
  nodeId?: string; evalId?: string; name?: string; allocatedResources?: AllocatedResources;
  publishedResult?: SpecConfig | null; runOutput?: RunCommandResult | null;
  previousExecution?: string; nextExecution?: string; followupEvalId?: string;
}
export interface UpdateExecutionRequest {
  executionId: string; expectedStates?: (ExecutionStateName | number)[]; expectedRevision?: Int;
  unexpectedStates?: (ExecutionStateName | number)[];
  expectedDesiredStates?: (ExecutionDesiredStateName | number)[];
  patch?: ExecutionPatch; comment?: string;
}
export interface UpdateEvaluationRequest {
  evaluationId: string; newStatus: EvaluationStatusName | number;
  expectedStatus?: EvaluationStatusName | number | null; comment?: string | null;
}
export interface JobQuery {
  namespace?: string; includeTags?: string[]; excludeTags?: string[];
  /** A Kubernetes label selector, e.g. `"gpu=true,zone in (a,b)"`. */
  selector?: string | null;
  sortBy?: "created_at" | "modified_at" | "id" | "createdAt" | "modifiedAt";
  reverse?: boolean; limit?: Int; offset?: Int; nextToken?: string | null;
}
export interface GetExecutionsOptions { jobId?: string | null; nodeId?: string | null; inProgressOnly?: boolean; includeJob?: boolean }
export interface JobHistoryQuery {
  /** Seconds since the Unix epoch. */
  since?: Int; excludeExecutionLevel?: boolean; excludeJobLevel?: boolean;
  executionId?: string; nodeId?: string; limit?: Int; nextToken?: string | null;
}

export interface ComputeStats { counts: Partial<Record<LocalExecutionStateName, bigint>>; total: bigint; lastEventSeq: bigint }
export interface JobStoreStats {
  jobs: Partial<Record<JobStateName, bigint>>; executions: Partial<Record<ExecutionStateName, bigint>>;
  jobTotal: bigint; executionTotal: bigint; lastEventSeq: bigint;
}

/** What `check()` found: counts of what it checked and every inconsistency (none when consistent). */
export interface CheckReport { records: bigint; historyEntries: bigint; events: bigint; problems: string[] }

interface EventBase { seqNum: bigint; operation: "CREATE" | "UPDATE" | "DELETE"; timestamp: bigint }
/** One committed change; `object` is the record after it (before it, for DELETE). */
export type Event = EventBase & (
  | { objectType: "Job"; object: Job }
  | { objectType: "Execution"; object: Execution }
  | { objectType: "Evaluation"; object: Evaluation }
  | { objectType: "LocalExecution"; object: LocalExecutionState }
);

/** Options of `new ComputeStore()` / `new JobStore()`. */
export interface StoreOptions {
  /** Strict (default) or permissive transition policy. */
  strict?: boolean;
  /** `"system"` (default: `Date.now()`) or a manual clock in nanoseconds that adds `step` after every reading. */
  clock?: "system" | { start?: Int; step?: Int };
}

/** Every thrown error: `code` is the stable error code, `field` names a bad argument. */
export interface StoreError extends Error {
  name: "ComputeError" | "JobStoreError";
  code: string;
  field?: string;
}
"#;
