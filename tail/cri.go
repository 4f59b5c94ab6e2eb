package tail

import "bytes"

// record is one parsed physical record (one '\n'-terminated line of a file).
type record struct {
	time     int64
	timeText []byte
	content  []byte
	stream   Stream
	partial  bool // more pieces of the same logical line follow
	badTime  bool
	bad      bool // not in the file's format: content is the raw line
}

// parseCRI parses one CRI record without its '\n':
//
//	<RFC3339 timestamp> SP <stdout|stderr> SP <tag>[:<tag>...] SP <content>
//
// as containerd and CRI-O (conmon) write it (tags from kubernetes
// staging/src/k8s.io/cri-api/pkg/apis/runtime/v1/constants.go, v1.31). Like the
// kubelet's reader it splits at the first three spaces and looks only at the
// first tag: "P" is partial, anything else is full. A record whose stream
// field is not stdout/stderr is not CRI: bad is set and content is the whole
// line. A record with a malformed timestamp keeps its fields and sets badTime.
func parseCRI(line []byte) record {
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return record{content: line, bad: true}
	}
	ts, rest := line[:i], line[i+1:]
	var st Stream
	switch {
	case len(rest) >= 7 && string(rest[:7]) == "stdout ":
		st = StreamStdout
	case len(rest) >= 7 && string(rest[:7]) == "stderr ":
		st = StreamStderr
	default:
		return record{content: line, bad: true}
	}
	rest = rest[7:]
	j := bytes.IndexByte(rest, ' ')
	var tags, content []byte
	if j < 0 {
		// "<ts> stdout F" with no content separator: treat as empty content.
		tags = rest
	} else {
		tags, content = rest[:j], rest[j+1:]
	}
	if len(tags) == 0 {
		return record{content: line, bad: true}
	}
	first := tags
	if k := bytes.IndexByte(tags, ':'); k >= 0 {
		first = tags[:k]
	}
	r := record{timeText: ts, content: content, stream: st, partial: len(first) == 1 && first[0] == 'P'}
	t, ok := parseTimestamp(ts)
	r.time, r.badTime = t, !ok
	return r
}

// parseTimestamp parses an RFC 3339 timestamp with 0 to 9 fraction digits and
// a 'Z' or ±hh:mm zone (containerd writes RFC3339Nano in its local zone,
// conmon 9 digits and a numeric offset) into nanoseconds since the Unix epoch.
// It does not allocate.
func parseTimestamp(b []byte) (int64, bool) {
	// 2006-01-02T15:04:05
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	i := 19
	var frac int64
	if b[i] == '.' {
		i++
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if n < 9 {
				frac = frac*10 + int64(b[i]-'0')
			}
			n++
			i++
		}
		if n == 0 || n > 9 {
			return 0, false
		}
		for ; n < 9; n++ {
			frac *= 10
		}
	}
	if i >= len(b) {
		return 0, false
	}
	var off int64
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, false
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off = int64(oh*3600 + om*60)
		if b[i] == '-' {
			off = -off
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(b) {
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - off
	return secs*1e9 + frac, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
