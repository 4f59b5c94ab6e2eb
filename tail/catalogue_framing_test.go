package tail

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCatalogue_17_HugeSingleRecord(t *testing.T) {
	const max = 64 << 10
	content := strings.Repeat("0123456789abcdef", 5<<20/16) // 5 MiB, one F record
	for _, action := range []string{OversizeSplit, OversizeTruncate} {
		t.Run(action, func(t *testing.T) {
			dir := t.TempDir()
			wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, MaxLineSize: max, OversizeAction: action, PositionsFile: "pos"})
			h.col.ack = false
			before := wr.lines(1)
			end := wr.raw("stdout", "F", content)
			after := wr.lines(1)
			h.sync()
			h.drain()
			lines := h.col.take()
			if len(lines) < 3 {
				t.Fatalf("got %d lines", len(lines))
			}
			check(t, "first", lines[:1], before)
			check(t, "last", lines[len(lines)-1:], after)
			pieces := lines[1 : len(lines)-1]
			var joined strings.Builder
			for i, p := range pieces {
				if len(p.Text) > max {
					t.Fatalf("piece %d is %d bytes, over %d", i, len(p.Text), max)
				}
				joined.WriteString(p.Text)
			}
			switch action {
			case OversizeSplit:
				if joined.String() != content {
					t.Fatalf("pieces join to %d bytes, want the %d-byte line", joined.Len(), len(content))
				}
				for i, p := range pieces {
					last := i == len(pieces)-1
					if (p.Flags&FlagSplit != 0) == last || (p.Flags&FlagSplitCont != 0) != (i > 0) {
						t.Fatalf("piece %d flags %b", i, p.Flags)
					}
				}
				if pieces[len(pieces)-1].Offset != end {
					t.Fatalf("last piece offset %d, want %d", pieces[len(pieces)-1].Offset, end)
				}
				if s := h.w.Stats(); s.OversizeSplit != int64(len(pieces)-1) {
					t.Fatalf("oversize split = %d, want %d", s.OversizeSplit, len(pieces)-1)
				}
			case OversizeTruncate:
				if len(pieces) != 1 || pieces[0].Text != content[:max] || pieces[0].Flags&FlagTruncated == 0 {
					t.Fatalf("got %d pieces, first %d bytes flags %b", len(pieces), len(pieces[0].Text), pieces[0].Flags)
				}
				if s := h.w.Stats(); s.OversizeTruncated != 1 || s.TruncatedBytes != int64(len(content)-max) {
					t.Fatalf("truncated %d (%d bytes), want 1 (%d)", s.OversizeTruncated, s.TruncatedBytes, len(content)-max)
				}
			}
			// Acking every piece but the last does not move the position
			// into the middle of the record.
			h.col.ackAll(lines[:len(lines)-2])
			if p, _ := h.w.Position(lines[0].Source); p != before[0].Offset {
				t.Fatalf("position = %d, want the record start %d", p, before[0].Offset)
			}
			h.col.ackAll(lines)
			if p, _ := h.w.Position(lines[0].Source); p != after[0].Offset {
				t.Fatalf("position = %d, want %d", p, after[0].Offset)
			}
		})
	}
}

func TestCatalogue_18_ManyPartialsBeyondLimit(t *testing.T) {
	for _, action := range []string{OversizeSplit, OversizeTruncate} {
		t.Run(action, func(t *testing.T) {
			dir := t.TempDir()
			wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, MaxLineSize: 1000, OversizeAction: action})
			var full strings.Builder
			for i := 0; i < 10; i++ {
				piece := strings.Repeat(string(rune('a'+i)), 300)
				full.WriteString(piece)
				wr.raw("stdout", "P", piece)
			}
			full.WriteString("end")
			end := wr.raw("stdout", "F", "end")
			h.cycle()
			lines := h.col.take()
			s := full.String()
			switch action {
			case OversizeSplit:
				want := []string{s[:1000], s[1000:2000], s[2000:3000], s[3000:]}
				if fmt.Sprint(texts(lines)) != fmt.Sprint(want) {
					t.Fatalf("got %d pieces %v", len(lines), len(texts(lines)))
				}
				if lines[3].Offset != end || lines[0].Flags&FlagSplit == 0 || lines[3].Flags&FlagSplit != 0 {
					t.Fatalf("last offset %d flags %b %b", lines[3].Offset, lines[0].Flags, lines[3].Flags)
				}
			case OversizeTruncate:
				if len(lines) != 1 || lines[0].Text != s[:1000] || lines[0].Flags&FlagTruncated == 0 {
					t.Fatalf("got %v", lines)
				}
				if st := h.w.Stats(); st.TruncatedBytes != int64(len(s)-1000) {
					t.Fatalf("truncated bytes %d, want %d", st.TruncatedBytes, len(s)-1000)
				}
				if p, _ := h.w.Position(lines[0].Source); p != end {
					t.Fatalf("position %d, want %d", p, end)
				}
			}
		})
	}
}

func TestCatalogue_19_UnterminatedPartialFlushed(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PartialFlush: 5 * time.Second})
	end := wr.raw("stdout", "P", "never finished")
	h.cycle()
	h.expect("held", nil)
	h.clk.Advance(4 * time.Second)
	h.poll()
	h.expect("still held", nil)
	h.clk.Advance(2 * time.Second)
	h.poll()
	lines := h.expect("flushed", []got{{Text: "never finished", Offset: end}})
	if l := (Line{Flags: lines[0].Flags}); l.LogTag() != "P" || h.w.Stats().PartialFlushed != 1 {
		t.Fatalf("flags %b partial flushed %d", lines[0].Flags, h.w.Stats().PartialFlushed)
	}
	if p, _ := h.w.Position(lines[0].Source); p != end {
		t.Fatalf("position %d, want %d", p, end)
	}
}

func TestCatalogue_20_InterleavedStreams(t *testing.T) {
	forStyles(t, append(criStyles, "docker"), Config{Paths: []string{"0.log"}, ReadFromHead: true}, func(t *testing.T, wr *writer, h *harness) {
		h.col.ack = false
		wr.raw("stdout", "P", "a")
		xEnd := wr.raw("stderr", "F", "x")
		bEnd := wr.raw("stdout", "F", "b")
		h.cycle()
		lines := h.expect("streams", []got{{Text: "x", Offset: xEnd}, {Text: "ab", Offset: bEnd}})
		if lines[0].Stream != StreamStderr || lines[1].Stream != StreamStdout {
			t.Fatalf("streams %v %v", lines[0].Stream, lines[1].Stream)
		}
		// Acking x alone must not move the position past "stdout P a".
		h.w.Ack(lines[0].Source, lines[0].Offset)
		if p, _ := h.w.Position(lines[0].Source); p != 0 {
			t.Fatalf("position after acking x = %d, want 0", p)
		}
		h.w.Ack(lines[1].Source, lines[1].Offset)
		if p, _ := h.w.Position(lines[0].Source); p != bEnd {
			t.Fatalf("position = %d, want %d", p, bEnd)
		}
	})
}

func TestCatalogue_21_SmallConmonChunks(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "conmon", Config{Paths: []string{"0.log"}, ReadFromHead: true})
	var full strings.Builder
	for i := 0; i < 50; i++ {
		piece := fmt.Sprintf("%03d%s", i, strings.Repeat(".", 97))
		full.WriteString(piece)
		wr.raw("stdout", "P", piece)
	}
	end := wr.raw("stdout", "F", "")
	h.cycle()
	h.expect("reassembled", []got{{Text: full.String(), Offset: end}})
}

func TestCatalogue_22_InvalidUTF8PassesThrough(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true})
	bad := "caf\xe9 \xff\xfe ok"
	end := wr.raw("stdout", "F", bad)
	h.cycle()
	h.expect("bytes kept", []got{{Text: bad, Offset: end}})
}

func TestCatalogue_23_DockerEscapes(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/x-json.log"
	h := newHarness(t, dir, Config{Paths: []string{"*-json.log"}, ReadFromHead: true})
	recs := []string{
		`{"log":"\u003chtml\u003e \u0026\n","stream":"stdout","time":"2017-09-25T18:00:00.1Z"}`,
		`{"log":"bad \ufffd byte\n","stream":"stdout","time":"2017-09-25T18:00:00.2Z"}`,
		`{"log":"sep\u2028para\u2029\n","stream":"stderr","time":"2017-09-25T18:00:00.3Z"}`,
		`{"log":"smile \ud83d\ude00\n","stream":"stdout","time":"2017-09-25T18:00:00.4Z"}`,
		`{"log":"first half, ","stream":"stdout","time":"2017-09-25T18:00:00.5Z"}`,
		`{"log":"second half\n","stream":"stdout","time":"2017-09-25T18:00:00.6Z"}`,
	}
	var off []int64
	var n int64
	for _, r := range recs {
		appendFile(t, p, r+"\n")
		n += int64(len(r) + 1)
		off = append(off, n)
	}
	h.cycle()
	lines := h.col.take()
	check(t, "decoded", lines, []got{
		{Text: "<html> &", Offset: off[0]},
		{Text: "bad \uFFFD byte", Offset: off[1]},
		{Text: "sep\u2028para\u2029", Offset: off[2]},
		{Text: "smile 😀", Offset: off[3]},
		{Text: "first half, second half", Offset: off[5]},
	})
	wantTime := time.Date(2017, 9, 25, 18, 0, 0, 5e8, time.UTC).UnixNano()
	if lines[4].Time != wantTime || lines[2].Stream != StreamStderr {
		t.Fatalf("joined time %d want %d (first piece's), stream %v", lines[4].Time, wantTime, lines[2].Stream)
	}
}

func TestCatalogue_24_CRLF(t *testing.T) {
	for _, tc := range []struct {
		style, text string
	}{
		{"containerd", "crlf line"}, // containerd already stripped \r
		{"conmon", "crlf line\r"},   // conmon keeps it
		{"docker", "crlf line\r"},   // docker keeps it inside "log"
		{"none", "crlf line\r"},     // a plain file
	} {
		t.Run(tc.style, func(t *testing.T) {
			dir := t.TempDir()
			wr := newWriter(t, dir+"/0.log", tc.style)
			h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true})
			end := wr.raw("stdout", "F", tc.text)
			h.cycle()
			h.expect("one policy: trailing \\r removed", []got{{Text: "crlf line", Offset: end}})
		})
	}
}

func TestCatalogue_25_Timestamps(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/0.log"
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true, Format: FormatCRI})
	stamps := []string{
		"2024-01-01T00:00:09Z",
		"2024-01-01T00:00:09.5Z",
		"2024-01-01T00:00:09.123456789+09:00",
		"2024-01-01T00:00:09.123-05:30",
		"not-a-time",
	}
	for i, s := range stamps {
		appendFile(t, p, fmt.Sprintf("%s stdout F line %d\n", s, i))
	}
	h.cycle()
	lines := h.col.take()
	if len(lines) != len(stamps) {
		t.Fatalf("got %d lines", len(lines))
	}
	for i, s := range stamps[:4] {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		if lines[i].Time != want.UnixNano() || lines[i].Flags&FlagBadTime != 0 {
			t.Fatalf("%s: time %d flags %b, want %d", s, lines[i].Time, lines[i].Flags, want.UnixNano())
		}
	}
	bad := lines[4]
	if bad.Text != "line 4" || bad.Time != h.clk.Now().UnixNano() || bad.Flags&FlagBadTime == 0 || h.w.Stats().BadTime != 1 {
		t.Fatalf("malformed timestamp: %+v", bad)
	}
}

func TestCatalogue_26_EmptyContent(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/0.log"
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true})
	line := "2024-01-01T00:00:00Z stdout F \n"
	appendFile(t, p, line+line)
	h.cycle()
	n := int64(len(line))
	h.expect("empty lines kept", []got{{Text: "", Offset: n}, {Text: "", Offset: 2 * n}})
}

func TestCatalogue_27_UnknownExtraTags(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/0.log"
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true})
	a := "2024-01-01T00:00:00Z stdout P:x ab\n"
	b := "2024-01-01T00:00:00Z stdout F:x:y cd\n"
	appendFile(t, p, a+b)
	h.cycle()
	h.expect("first tag only", []got{{Text: "abcd", Offset: int64(len(a) + len(b))}})
}

func TestCatalogue_28_UnterminatedAtShutdown(t *testing.T) {
	t.Run("P buffered", func(t *testing.T) {
		dir := t.TempDir()
		wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"})
		first := wr.lines(1)
		wr.raw("stdout", "P", "partial ")
		h.cycle()
		h.expect("before shutdown", first)
		h.restart() // SIGTERM: positions saved with the P unfinished
		end := wr.raw("stdout", "F", "rest")
		h.cycle()
		h.expect("once, whole", []got{{Text: "partial rest", Offset: end}})
	})
	t.Run("no newline yet", func(t *testing.T) {
		dir := t.TempDir()
		p := dir + "/app.log"
		h := newHarness(t, dir, Config{Paths: []string{"app.log"}, ReadFromHead: true, PositionsFile: "pos", Format: FormatNone})
		appendFile(t, p, "one\ntw")
		h.cycle()
		h.expect("before shutdown", []got{{Text: "one", Offset: 4}})
		h.restart()
		appendFile(t, p, "o\n")
		h.cycle()
		h.expect("once, whole", []got{{Text: "two", Offset: 8}})
	})
}
