// The workflow bundle's entry point: every workflow type the worker serves.
export { deliveryWorkflow } from './delivery';
export { reputationWorkflow } from './reputation';
export { webhookDeliveryWorkflow } from './webhooks';
export { inboundReportWorkflow } from './bounces';
