package buffer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"logship/internal/atomicfile"
)

// Dead-letter files. A chunk that failed with an error that Is ErrPermanent,
// or that ran out of retries, is written to Config.DeadLetterDir as
// <chunk id>-<unix ns>.jsonl, written to a temporary name, fsynced and renamed
// into place, so a file that exists is complete. Only the records the sender
// had not yet delivered (from Chunk.Sent on) are written. Each line is one
// JSON object per record, keys in this order:
//
//	{"time":1700000000123456789,"tag":"kube.var.log.containers.a.log",
//	 "group":"/k8s/app","stream":"node-1","message":"{\"log\":\"hi\"}",
//	 "error":"permanent error: InvalidParameterException: ..."}
//
//	time         event time, integer Unix nanoseconds
//	tag          Fluentd tag ("" when unknown)
//	group,stream the destination (StreamKey)
//	message      the formatted event exactly as it was to be sent, as a JSON
//	             string; when it is not valid UTF-8 it is given instead as
//	             "message_b64" (standard base64) so no byte is lost
//	error        why the chunk was dead-lettered (the same on every line)
//
// ReadDeadLetter reads such a file back for `logship replay`.

// writeDeadLetter writes recs to a new dead-letter file in dir and returns its
// path.
func writeDeadLetter(dir, id string, recs []Record, reason string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("dead letter dir: %w", err)
	}
	var buf []byte
	for i := range recs {
		buf = appendDeadLetterLine(buf, &recs[i], reason)
	}
	name := filepath.Join(dir, id+"-"+strconv.FormatInt(now.UnixNano(), 10)+".jsonl")
	if err := atomicfile.Write(name, buf, 0o644); err != nil {
		return "", fmt.Errorf("dead letter: %w", err)
	}
	return name, nil
}

// appendDeadLetterLine appends the dead-letter line of r to dst.
func appendDeadLetterLine(dst []byte, r *Record, reason string) []byte {
	dst = append(dst, `{"time":`...)
	dst = strconv.AppendInt(dst, r.Time, 10)
	dst = append(dst, `,"tag":`...)
	dst = AppendJSONString(dst, r.Tag)
	dst = append(dst, `,"group":`...)
	dst = AppendJSONString(dst, r.Key.Group)
	dst = append(dst, `,"stream":`...)
	dst = AppendJSONString(dst, r.Key.Stream)
	if utf8.Valid(r.Message) {
		dst = append(dst, `,"message":`...)
		dst = AppendJSONBytes(dst, r.Message)
	} else {
		dst = append(dst, `,"message_b64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Message)
		dst = append(dst, '"')
	}
	if reason != "" {
		dst = append(dst, `,"error":`...)
		dst = AppendJSONString(dst, reason)
	}
	return append(dst, '}', '\n')
}

// ErrDeadLetter is wrapped by ReadDeadLetter for a malformed line.
var ErrDeadLetter = errors.New("malformed dead-letter line")

// ReadDeadLetter reads a dead-letter file (see the format above) and returns
// its records with Time, Tag, Key and Message set, Source 0. Blank lines are
// skipped; unknown keys are ignored; a line without time, group, stream or
// message is an error naming its line number.
func ReadDeadLetter(r io.Reader) ([]Record, error) {
	br := bufio.NewReader(r)
	var recs []Record
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			rec, perr := parseDeadLetterLine(line)
			if perr != nil {
				return recs, fmt.Errorf("line %d: %w", n, perr)
			}
			recs = append(recs, rec)
		}
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("read dead letter: %w", err)
		}
	}
}

func parseDeadLetterLine(line []byte) (Record, error) {
	v, err := ParseJSON(bytes.TrimSpace(line))
	if err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrDeadLetter, err)
	}
	if v.Kind != Map {
		return Record{}, fmt.Errorf("%w: not an object", ErrDeadLetter)
	}
	var rec Record
	var have uint8
	const hTime, hGroup, hStream, hMsg = 1, 2, 4, 8
	for _, f := range v.Kids {
		switch f.Key {
		case "time":
			t, err := strconv.ParseInt(string(f.Value.Bytes), 10, 64)
			if f.Value.Kind != Raw || err != nil {
				return Record{}, fmt.Errorf("%w: time is not an integer", ErrDeadLetter)
			}
			rec.Time, have = t, have|hTime
		case "tag":
			if f.Value.Kind == String {
				rec.Tag = string(f.Value.Bytes)
			}
		case "group":
			if f.Value.Kind != String {
				return Record{}, fmt.Errorf("%w: group is not a string", ErrDeadLetter)
			}
			rec.Key.Group, have = string(f.Value.Bytes), have|hGroup
		case "stream":
			if f.Value.Kind != String {
				return Record{}, fmt.Errorf("%w: stream is not a string", ErrDeadLetter)
			}
			rec.Key.Stream, have = string(f.Value.Bytes), have|hStream
		case "message":
			if f.Value.Kind != String {
				return Record{}, fmt.Errorf("%w: message is not a string", ErrDeadLetter)
			}
			rec.Message, have = f.Value.Bytes, have|hMsg
		case "message_b64":
			m, err := base64.StdEncoding.DecodeString(string(f.Value.Bytes))
			if f.Value.Kind != String || err != nil {
				return Record{}, fmt.Errorf("%w: message_b64 is not base64", ErrDeadLetter)
			}
			rec.Message, have = m, have|hMsg
		}
	}
	if have != hTime|hGroup|hStream|hMsg {
		return Record{}, fmt.Errorf("%w: want time, group, stream and message", ErrDeadLetter)
	}
	if rec.Message == nil {
		rec.Message = []byte{}
	}
	return rec, nil
}
