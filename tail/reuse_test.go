package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatcher_TransientReusesBlocks: with a Transient handler the Watcher
// reuses its read blocks, and every line still arrives whole and unchanged —
// including CRI lines whose P fragments sit in earlier blocks (and in the
// block being replaced) when their F arrives, long lines whose fragments
// fill several blocks, and lines read across many
// blocks in one read. The handler scribbles over each line after copying it,
// as a reused block would be overwritten, so a line still pointing into a
// recycled block shows up as corrupt.
func TestWatcher_TransientReusesBlocks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	var want []string
	var b strings.Builder
	for i := range 3000 {
		text := fmt.Sprintf("line %05d %s", i, strings.Repeat(string(rune('a'+i%26)), 20+i%300))
		want = append(want, text)
		ts := fmt.Sprintf("2026-12-07T10:00:%02d.%09dZ", i/1000, i)
		if i%500 == 250 {
			// A long line whose P fragments fill several blocks each.
			text = fmt.Sprintf("long %05d %s", i, strings.Repeat(string(rune('A'+i%26)), 12000))
			want[len(want)-1] = text
			for j := 0; j < len(text); j += 1500 {
				kind := "P"
				if j+1500 >= len(text) {
					kind = "F"
				}
				fmt.Fprintf(&b, "%s stdout %s %s\n", ts, kind, text[j:min(j+1500, len(text))])
			}
			continue
		}
		if i%7 == 3 {
			// Three P fragments, then the F: the line spans blocks.
			k := len(text) / 4
			for j := range 3 {
				fmt.Fprintf(&b, "%s stdout P %s\n", ts, text[j*k:(j+1)*k])
			}
			fmt.Fprintf(&b, "%s stdout F %s\n", ts, text[3*k:])
			continue
		}
		fmt.Fprintf(&b, "%s stdout F %s\n", ts, text)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	var w *Watcher
	h := TransientHandlerFunc(func(_ context.Context, lines []Line) error {
		for _, l := range lines {
			got = append(got, string(l.Text))
			w.Ack(l.Source, l.Offset)
			for i := range l.Text {
				l.Text[i] = '#'
			}
		}
		return nil
	})
	w = newWatcher(t, Config{Paths: []string{path}, ReadFromHead: true, DisableNotify: true, ReadBufferSize: 4096}, h)
	ctx := context.Background()
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			j := 0
			for j < min(len(got[i]), len(want[i])) && got[i][j] == want[i][j] {
				j++
			}
			t.Fatalf("line %d (%d bytes, want %d): differs from byte %d: %.40q, want %.40q", i, len(got[i]), len(want[i]), j, got[i][j:], want[i][j:])
		}
	}
	// ~190 blocks of 4 KiB were read; with reuse a fraction were made
	// (those replaced while a fragment still pointed into them, and the
	// larger blocks long fragments need).
	if reads := b.Len() / 4096; w.blocksMade > reads/2 {
		t.Fatalf("%d read blocks allocated for %d blocks read: blocks were not reused", w.blocksMade, reads)
	}
	if !w.reuse {
		t.Fatal("a TransientHandlerFunc did not turn reuse on")
	}
}
