/**
 * The sending half of a live stream (a grpc-js server call satisfies it). Resources hold one so
 * the scheduler can push to a host or peer; undefined once the stream has ended.
 */
export interface MessageSink<T> {
  write(message: T): unknown
}
