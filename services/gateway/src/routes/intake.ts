/**
 * What the gateway accepts as an execution's input, decided before anything is stored or
 * published: the workflow's declared input, nesting within `MAX_INPUT_DEPTH`, and a size whose
 * execution record fits the budget derived from the server's `max_payload` (see
 * `checkInputLimits` in `services/shared`). Fields named in `claimCheck` are stored in the
 * `EXECUTION_INPUTS` object store and travel as references, so they do not count.
 */
import { checkInputLimits, jsonDepth, MAX_INPUT_DEPTH, prepareClaim, validateWorkflowInput } from '@multi-agent/service-kit';
import type { ClaimCheckStore, ExecutionLimits, WorkflowDefinition } from '@multi-agent/service-kit';
import { HttpError } from '../http-error.js';

/** What input checks need: the limits of the connected server and the claim-check bucket. */
export interface InputIntake {
  limits: ExecutionLimits;
  claims: ClaimCheckStore;
}

/** The body of `POST /api/workflows/:workflowId/executions` as far as the input goes. */
export interface InputRequest {
  input?: Record<string, unknown>;
  claimCheck?: string[];
}

/**
 * Checks the input of a new execution and stores its claim-checked fields.
 *
 * @returns the input as it travels (defaults filled, claim-checked fields as references)
 * @throws HttpError 400 `INVALID_INPUT` / `INPUT_TOO_DEEP` / `INVALID_CLAIM_CHECK`, 413 `INPUT_TOO_LARGE`
 */
export async function acceptInput(workflow: WorkflowDefinition, request: InputRequest, executionId: string, intake: InputIntake): Promise<Record<string, unknown>> {
  // Before anything walks the input: code that recurses must never meet a deeper one.
  if (jsonDepth(request.input, MAX_INPUT_DEPTH) > MAX_INPUT_DEPTH) {
    throw new HttpError(400, 'INPUT_TOO_DEEP', `input nested too deeply: more than ${MAX_INPUT_DEPTH} levels of objects and arrays (limit ${MAX_INPUT_DEPTH})`, { maxDepth: MAX_INPUT_DEPTH });
  }
  const check = validateWorkflowInput(workflow, request.input);
  if (!check.ok) throw new HttpError(400, 'INVALID_INPUT', `invalid input for workflow "${workflow.id}": ${check.issues.join('; ')}`, { issues: check.issues });
  const input = { ...check.value };
  const claims = (request.claimCheck ?? []).map((field) => {
    if (!(field in input)) {
      throw new HttpError(400, 'INVALID_CLAIM_CHECK', `claimCheck names "${field}", which is not in the input (fields: ${Object.keys(input).join(', ') || 'none'})`);
    }
    const claim = prepareClaim(`${executionId}/${field}`, input[field]);
    input[field] = claim.reference;
    return claim;
  });
  const rejection = checkInputLimits(workflow, input, intake.limits);
  if (rejection !== undefined) {
    throw new HttpError(rejection.code === 'INPUT_TOO_LARGE' ? 413 : 400, rejection.code, rejection.message, rejection.details);
  }
  for (const claim of claims) await intake.claims.put(claim);
  return input;
}
