// Minimal valid records for the hand-written suites.
export const exec = (id = 'e-1', jobId = 'j-1', state = 'Created') => ({
  Execution: {
    ID: id, JobID: jobId, Namespace: 'default', NodeID: 'n-1',
    Job: { ID: jobId, Name: 'job', Namespace: 'default', Type: 'batch', Count: 1, Tasks: [{ Name: 'main', Engine: { Type: 'docker' } }] },
  },
  RequesterNodeID: 'req', State: state, Version: 1,
});
export const job = (id = 'j-1') => ({ ID: id, Name: id, Type: 'batch', Count: 1, Tasks: [{ Name: 'main', Engine: { Type: 'docker' } }] });
export const execution = (id = 'e-1', jobId = 'j-1') => ({ ID: id, JobID: jobId, Namespace: 'default', NodeID: 'n-1', ComputeState: { StateType: 'New' } });
export const evaluation = (id = 'v-1', jobId = 'j-1') => ({ ID: id, JobID: jobId, Namespace: 'default', TriggeredBy: 'job-register', Status: 'pending' });
export const manual = { clock: { start: 1_707_300_000_000_000_000n, step: 1000n } };
