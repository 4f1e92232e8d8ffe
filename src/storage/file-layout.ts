import { join } from 'node:path'
import { z } from 'zod'
import { isTaskId, type TaskId } from '../protocol/ids.js'
import { pieceRange } from '../protocol/piece.js'
import type { PieceRecord, TaskDescriptor } from './content-store.js'
import type { ContentSeal, TaskSnapshot } from './task-record.js'

/** Where one task's files live under the data directory. */
export interface TaskPaths {
  readonly content: string
  readonly metadata: string
  readonly metadataTemp: string
  readonly journal: string
}

export function contentRoot(dataDir: string): string {
  return join(dataDir, 'content', 'tasks')
}

export function metadataRoot(dataDir: string): string {
  return join(dataDir, 'metadata', 'tasks')
}

/** A directory of tasks whose ids start with these three hex digits keeps directories small. */
export function prefixOf(taskId: TaskId): string {
  return taskId.slice(0, 3)
}

export const PREFIX_DIR = /^[0-9a-f]{3}$/
export const METADATA_FILE = /^([0-9a-f]{64})\.json$/
export const JOURNAL_FILE = /^([0-9a-f]{64})\.pieces$/

export function taskPaths(dataDir: string, taskId: TaskId): TaskPaths {
  const metadataDir = join(metadataRoot(dataDir), prefixOf(taskId))
  return {
    content: join(contentRoot(dataDir), prefixOf(taskId), taskId),
    metadata: join(metadataDir, `${taskId}.json`),
    metadataTemp: join(metadataDir, `${taskId}.json.tmp`),
    journal: join(metadataDir, `${taskId}.pieces`),
  }
}

const PIECE_LINE = z.object({
  n: z.number().int().nonnegative(),
  o: z.number().int().nonnegative(),
  l: z.number().int().positive(),
  d: z.string().regex(/^[0-9a-f]{64}$/),
})

const METADATA = z.object({
  version: z.literal(1),
  descriptor: z.object({
    taskId: z.custom<TaskId>((value) => typeof value === 'string' && isTaskId(value)),
    url: z.string(),
    contentLengthBytes: z.number().int().nonnegative().optional(),
    pieceLengthBytes: z.number().int().positive(),
    etag: z.string().optional(),
    lastModified: z.string().optional(),
    contentType: z.string().optional(),
    tag: z.string().optional(),
    application: z.string().optional(),
    createdAtMs: z.number(),
  }),
  complete: z.boolean(),
  verifiedDigest: z.string().optional(),
  pieces: z.array(PIECE_LINE),
  // Absent in metadata written before content files were sealed; such tasks are checked by length only.
  contentSeal: z.object({ sizeBytes: z.number().int().nonnegative(), mtimeMs: z.number() }).optional(),
})

/** The journal line of one finished piece, newline included. */
export function journalLine(piece: PieceRecord): string {
  return `{"n":${piece.number},"o":${piece.offset},"l":${piece.length},"d":"${piece.digest}"}\n`
}

export function encodeMetadata(snapshot: TaskSnapshot): string {
  return JSON.stringify({
    version: 1,
    descriptor: snapshot.descriptor,
    complete: snapshot.complete,
    verifiedDigest: snapshot.verifiedDigest,
    pieces: snapshot.pieces.map((piece) => ({ n: piece.number, o: piece.offset, l: piece.length, d: piece.digest })),
    contentSeal: snapshot.contentSeal,
  })
}

export interface StoredMetadata {
  readonly descriptor: TaskDescriptor
  readonly complete: boolean
  readonly verifiedDigest: string | undefined
  readonly pieces: PieceRecord[]
  readonly contentSeal: ContentSeal | undefined
}

/** Parses a metadata file; undefined when it is not one this version wrote. */
export function decodeMetadata(text: string): StoredMetadata | undefined {
  const parsed = METADATA.safeParse(parseJson(text))
  if (!parsed.success) return undefined
  const { descriptor, complete, verifiedDigest, pieces, contentSeal } = parsed.data
  return {
    descriptor: { ...descriptor, contentLengthBytes: descriptor.contentLengthBytes },
    complete,
    verifiedDigest,
    pieces: pieces.map((line) => ({ number: line.n, offset: line.o, length: line.l, digest: line.d })),
    contentSeal,
  }
}

/**
 * The pieces of a journal. Lines that do not parse are skipped: a torn last line is what a
 * crash mid-append leaves, and a line torn by a failed append only costs its piece a re-download.
 */
export function decodeJournal(text: string): { pieces: PieceRecord[]; skippedLines: number } {
  const pieces: PieceRecord[] = []
  let skippedLines = 0
  for (const line of text.split('\n')) {
    if (line === '') continue
    const parsed = PIECE_LINE.safeParse(parseJson(line))
    if (parsed.success) pieces.push({ number: parsed.data.n, offset: parsed.data.o, length: parsed.data.l, digest: parsed.data.d })
    else skippedLines++
  }
  return { pieces, skippedLines }
}

/** Whether a loaded piece agrees with the descriptor and lies within a content file of `fileBytes`. */
export function pieceFits(piece: PieceRecord, descriptor: TaskDescriptor, fileBytes: number): boolean {
  const { contentLengthBytes, pieceLengthBytes } = descriptor
  if (piece.offset !== piece.number * pieceLengthBytes || piece.length > pieceLengthBytes) return false
  if (piece.offset + piece.length > fileBytes) return false
  return contentLengthBytes === undefined || piece.length === pieceRange(piece.number, contentLengthBytes, pieceLengthBytes).length
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
