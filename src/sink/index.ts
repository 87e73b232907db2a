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
} from './server';
export { runSink, SCENARIO_HELP, scenarioTable } from './main';
