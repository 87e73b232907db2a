// The bounce simulator's public surface (README section "The bounce simulator"): startSink() and
// its types from server.ts, the scenario table's helpers, and the `rebound sink` command.
export {
  startSink,
  scenarioFor,
  extractMessageId,
  MAX_MESSAGE_BYTES,
  DEFAULT_GREYLIST_HINT_SECONDS,
  type SinkOptions,
  type ReceivedMessage,
  type SinkTransactionLog,
  type BounceSink,
  type Scenario,
  type ScenarioKind,
  type LateReport,
  type LateReportState,
  type LateReportTry,
  type ReportRetryPolicy,
  type RateLimit,
} from './server';
export { rateDecision, FRESH_WINDOW, type RateWindowState } from './rate-window';
export { buildReport, headerBlock, reportRecipient, type BuiltReport, type ReportInput } from './reports';
export { parseReportTo } from './report-to';
export { SCENARIOS, SCENARIO_HELP, scenarioTable, scenarioMarkdown, type ScenarioRow, type ScenarioReply, type LateReportKind } from './scenarios';
export { SinkLedger } from './ledger';
export { runSink, defineSinkCommand } from './main';
