package buffer

// Crash makes b behave as if its process had died: it releases the file
// buffer's directory lock without flushing or syncing anything, so another
// Buffer in the same test process can recover the directory.
func (b *Buffer) Crash() {
	if b.disk != nil {
		b.disk.unlock()
	}
}

// SetWriteHook makes every segment write of b call f first; an error from f
// fails the write (as ENOSPC from the filesystem would).
func (b *Buffer) SetWriteHook(f func(id string, n int) error) {
	if b.disk != nil {
		b.disk.writeHook = f
	}
}

// PoolBytes is the size of the free arena blocks b keeps for reuse.
func (b *Buffer) PoolBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(b.blocks.bytes)
}
