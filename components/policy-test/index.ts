export { parseCasesFile, parseCasesDocument, casesFileSchema, type PolicyTestCase, type Expectation, type CasesFile, type CasesGateway } from './cases.js';
export { runPolicyCases, type CaseResult, type CaseTarget } from './run-cases.js';
export { runPolicyTestCommand, type CommandIo } from './command.js';
