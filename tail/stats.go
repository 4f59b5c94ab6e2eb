package tail

import "sync/atomic"

// Stats is a snapshot of the Watcher's counters (all monotonic except
// FilesOpen, FilesDeletedHeld and NotifyDisabled).
type Stats struct {
	LinesRead            int64 // logical lines handed to the Handler
	BytesRead            int64 // bytes read from files
	FilesOpen            int64 // files currently open
	FilesOpened          int64 // files opened for reading
	FilesDeletedHeld     int64 // deleted files currently held open to drain
	Rotations            int64 // files detected renamed away or replaced at their path
	Truncations          int64 // truncations / copytruncates (re-read from 0)
	IdentityMismatches   int64 // saved positions rejected (inode reused, content changed)
	OversizeSplit        int64 // pieces emitted for lines over MaxLineSize (split)
	OversizeTruncated    int64 // lines truncated at MaxLineSize
	TruncatedBytes       int64 // bytes dropped by truncation
	OversizeDropped      int64 // undecodable oversize docker records discarded
	OversizeDroppedBytes int64
	NULRuns              int64 // runs of NUL bytes skipped
	NULBytes             int64
	Malformed            int64 // records not in the file's format (passed through flagged)
	BadTime              int64 // records with an unparsable timestamp
	PartialFlushed       int64 // unfinished lines emitted flagged FlagPartial
	GivenUpFiles         int64 // deleted files closed with unread data (bounds)
	GivenUpBytes         int64 // unread bytes of those files
	FilesPinned          int64 // files opened while the Handler blocked, before any Sync saw them
	LostFiles            int64 // files lost with unread data (given up, or deleted unseen beyond the bounds); see LostFiles()
	LostBytes            int64 // their unread bytes
	LostLines            int64 // their unread complete lines (where the file could still be read)
	Gaps                 int64 // gaps detected at start (a saved file gone with unread data)
	GapBytes             int64 // lower bound of the bytes lost in those gaps
	NotifyOverflows      int64 // inotify queue overflows (each triggered a rescan)
	NotifyDisabled       int64 // 1 when inotify could not be used: polling only
	PositionsSaved       int64
	PositionsCorrupt     int64 // positions files found corrupt at start (moved aside to .bad, files re-read)
	HandlerErrors        int64
}

type counters struct {
	linesRead, bytesRead, filesOpen, filesOpened, filesDeletedHeld               atomic.Int64
	rotations, truncations, identityMismatches                                   atomic.Int64
	oversizeSplit, oversizeTruncated, truncatedBytes                             atomic.Int64
	oversizeDropped, oversizeDroppedBytes, nulRuns, nulBytes, malformed, badTime atomic.Int64
	partialFlushed, givenUpFiles, givenUpBytes, gaps, gapBytes                   atomic.Int64
	notifyOverflows, notifyDisabled, positionsSaved, handlerErrors               atomic.Int64
	positionsCorrupt, filesPinned, lostFiles, lostBytes, lostLines               atomic.Int64
}

// Stats returns a snapshot of the counters. It is safe to call concurrently.
func (w *Watcher) Stats() Stats {
	c := &w.stats
	return Stats{
		LinesRead: c.linesRead.Load(), BytesRead: c.bytesRead.Load(),
		FilesOpen: c.filesOpen.Load(), FilesOpened: c.filesOpened.Load(), FilesDeletedHeld: c.filesDeletedHeld.Load(),
		Rotations: c.rotations.Load(), Truncations: c.truncations.Load(), IdentityMismatches: c.identityMismatches.Load(),
		OversizeSplit: c.oversizeSplit.Load(), OversizeTruncated: c.oversizeTruncated.Load(), TruncatedBytes: c.truncatedBytes.Load(),
		OversizeDropped: c.oversizeDropped.Load(), OversizeDroppedBytes: c.oversizeDroppedBytes.Load(),
		NULRuns: c.nulRuns.Load(), NULBytes: c.nulBytes.Load(), Malformed: c.malformed.Load(), BadTime: c.badTime.Load(),
		PartialFlushed: c.partialFlushed.Load(), GivenUpFiles: c.givenUpFiles.Load(), GivenUpBytes: c.givenUpBytes.Load(),
		Gaps: c.gaps.Load(), GapBytes: c.gapBytes.Load(),
		NotifyOverflows: c.notifyOverflows.Load(), NotifyDisabled: c.notifyDisabled.Load(),
		PositionsSaved: c.positionsSaved.Load(), HandlerErrors: c.handlerErrors.Load(),
		PositionsCorrupt: c.positionsCorrupt.Load(), FilesPinned: c.filesPinned.Load(),
		LostFiles: c.lostFiles.Load(), LostBytes: c.lostBytes.Load(), LostLines: c.lostLines.Load(),
	}
}
