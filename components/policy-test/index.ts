export { parseCasesFile, casesFileSchema, type PolicyTestCase, type Expectation } from './cases.js';
export { runPolicyCases, type CaseResult } from './run-cases.js';
export { runPolicyTestCommand, type CommandIo } from './command.js';
