/** `paydecide sink`: Redis decision / outcome streams → Parquet files (directory or S3). */
export { groupLag, runSink, type SinkOptions, type SinkResult, type SinkStats } from './stream-sink';
export {
  SINK_STREAMS,
  SINK_TABLES,
  deadLetterKey,
  readDecisionLogSql,
  readOutcomesSql,
  sinkScanSql,
  type SinkStreamName,
  type SinkTable,
} from './sink-tables';
