package fidelity

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Line classes the generator mixes into every container log.
const (
	ClassJSON     = "json"
	ClassPlain    = "plain"
	ClassEscapes  = "escapes"
	ClassUnicode  = "unicode"
	ClassInvalid  = "invalid-utf8"
	ClassEmpty    = "empty"
	ClassLong     = "long"
	ClassPartial  = "partial"
	ClassGlogLine = "glog"
	// ClassWholeSecond lines have a time on a whole second, which
	// RFC3339Nano writes without a fraction ("…:05Z").
	ClassWholeSecond = "whole-second"
)

// partialPiece is the size of one piece of a split line: containerd's default
// max_container_log_line_size (16 KiB, github.com/containerd/containerd
// v1.7 pkg/cri/config/config.go DefaultConfig) and docker's json-file
// buffer (github.com/moby/moby v24 daemon/logger/copier.go, bufSize 16*1024).
const partialPiece = 16 * 1024

// Container is one generated container log under a node's /var/log.
type Container struct {
	Namespace, Pod, UID, Name, ID string
	// Docker selects the docker json-file format instead of CRI.
	Docker bool
}

// File is the /var/log/pods path of c's log, relative to /var/log.
func (c *Container) File() string {
	return filepath.Join("pods", c.Namespace+"_"+c.Pod+"_"+c.UID, c.Name, "0.log")
}

// Link is the /var/log/containers symlink name of c, relative to /var/log.
func (c *Container) Link() string {
	return filepath.Join("containers", c.Pod+"_"+c.Namespace+"_"+c.Name+"-"+c.ID+".log")
}

// Line is one application line as the container wrote it (before the
// runtime split or framed it).
type Line struct {
	ID    string // "L000123": every piece of the line starts with it
	Class string
	// Text is the line's bytes without the newline. For ClassPartial the
	// pieces are Text split in partialPiece-sized runs.
	Text   []byte
	Stream string // stdout or stderr
	Time   time.Time
	// Container is the container ID for container logs (it is part of the
	// log stream name the kubernetes.* tag makes).
	Container string
}

// Gen generates kubelet container logs, deterministic for a seed.
type Gen struct {
	// Seed makes the output reproducible.
	Seed uint64
	// Lines is the number of lines per container (0: 500).
	Lines int
	// Start is the time of the first line.
	Start time.Time
	// InvalidPercent is the share of lines holding invalid UTF-8 (CRI only;
	// docker's json-file encoder writes U+FFFD itself). 0 means 2.
	InvalidPercent int
	// NoPartials leaves out split lines (for configs whose filters would
	// treat the pieces differently anyway).
	NoPartials bool
	// LongBytes is the size of the very long lines (0: 40 KiB).
	LongBytes int

	seq int
}

// ContainerNamed returns a container with IDs derived from its names, as the
// kubelet lays them out (64-hex container ID, UUID pod UID).
func ContainerNamed(ns, pod, name string, docker bool) *Container {
	sum := fmt.Sprintf("%064x", fnvHash(ns+"/"+pod+"/"+name))
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", sum[0:8], sum[8:12], sum[12:16], sum[16:20], sum[20:32])
	return &Container{Namespace: ns, Pod: pod, UID: uid, Name: name, ID: sum[len(sum)-64:], Docker: docker}
}

func fnvHash(s string) string {
	// Four FNV-1a passes make 64 hex digits; the IDs only need to be stable
	// and distinct.
	var out strings.Builder
	for i := range 4 {
		h := uint64(14695981039346656037) + uint64(i)
		for j := 0; j < len(s); j++ {
			h ^= uint64(s[j])
			h *= 1099511628211
		}
		fmt.Fprintf(&out, "%016x", h)
	}
	return out.String()
}

// Write lays c out under root (standing for /var/log): the pods file and the
// containers symlink pointing at /var/log/pods/... (absolute, as the kubelet
// makes it; the peer and logship run with root mounted at /var/log). It
// returns the lines written and the bytes of the file.
func (g *Gen) Write(root string, c *Container) ([]Line, int64, error) {
	lines := g.lines(c)
	var b []byte
	for _, l := range lines {
		b = appendLine(b, c, l)
	}
	file := filepath.Join(root, c.File())
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(filepath.Join(root, "containers"), 0o755); err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return nil, 0, err
	}
	link := filepath.Join(root, c.Link())
	if err := os.Symlink(filepath.Join("/var/log", c.File()), link); err != nil {
		return nil, 0, err
	}
	return lines, int64(len(b)), nil
}

func (g *Gen) lines(c *Container) []Line {
	n := g.Lines
	if n == 0 {
		n = 500
	}
	inv := g.InvalidPercent
	if inv == 0 {
		inv = 2
	}
	long := g.LongBytes
	if long == 0 {
		long = 40 << 10
	}
	r := rand.New(rand.NewPCG(g.Seed, uint64(len(c.Pod))+fnvSeed(c.Pod+c.Name)))
	out := make([]Line, 0, n)
	for i := range n {
		g.seq++
		id := fmt.Sprintf("L%06d", g.seq)
		// Nanosecond times with a random fraction, 1-3 ms apart; never on
		// a whole second (the images' time formats need a fraction).
		ns := int64(g.seq)*int64(2*time.Millisecond) + 1 + r.Int64N(int64(time.Millisecond))
		l := Line{ID: id, Stream: "stdout", Time: g.Start.Add(time.Duration(ns)).UTC(), Container: c.ID}
		if r.IntN(10) == 0 {
			l.Stream = "stderr"
		}
		p := r.IntN(100)
		switch {
		case !c.Docker && p < inv:
			l.Class = ClassInvalid
			l.Text = []byte(id + " bad bytes \xff\xfe\xc3\x28 \xe2\x82 end \xf0\x9f\x98 x\xc0\xaf.")
		case i%89 == 5:
			l.Class = ClassWholeSecond
			l.Time = l.Time.Truncate(time.Second)
			l.Text = []byte(id + " logged on a whole second")
		case i%97 == 3:
			l.Class = ClassEmpty
			l.Text = nil
		case i%151 == 7 && !g.NoPartials:
			l.Class = ClassPartial
			// Each piece starts with the line's ID so that every fragment
			// Fluentd emits can be matched to its line.
			for k := range 2 {
				l.Text = fill(fmt.Appendf(l.Text, "%s piece %d ", id, k), (k+1)*partialPiece, 'p')
			}
			l.Text = fill(fmt.Appendf(l.Text, "%s piece 2 ", id), 2*partialPiece+1000+r.IntN(500), 'p')
		case i%173 == 11:
			// Docker splits every line over 16 KiB (the partial class);
			// containerd writes longer ones whole when
			// max_container_log_line_size is -1.
			l.Class = ClassLong
			n := long
			if c.Docker {
				n = min(n, partialPiece-64)
			}
			l.Text = fill([]byte(id+" long "), n, 'z')
		case p < 40:
			l.Class = ClassJSON
			l.Text = fmt.Appendf(nil, `{"level":"info","id":"%s","msg":"request served","status":%d,"path":"/api/v1/items/%d","lat_ms":%d.%03d}`, id, 200+r.IntN(3)*100, r.IntN(1000), r.IntN(500), r.IntN(1000))
		case p < 60:
			l.Class = ClassPlain
			l.Text = fmt.Appendf(nil, `%s 10.0.%d.%d - - "GET /index.html HTTP/1.1" 200 %d "-" "curl/8.5"`, id, r.IntN(255), r.IntN(255), r.IntN(9000))
		case p < 72:
			l.Class = ClassEscapes
			l.Text = []byte(id + " tab\there back\\slash \"quoted\" {\"json\":\"in text\"} <html>&amp; ctl\x01\x1f del\x7f trailing space ")
		case p < 84:
			l.Class = ClassUnicode
			l.Text = []byte(id + " héllo wörld — 世界 🎉 ñ Ω \u2028 \u00a0nbsp \ufeffbom")
		case p < 92:
			l.Class = ClassGlogLine
			l.Text = []byte(l.Time.Format("I0102 15:04:05.000000") + "       1 server.go:42] " + id + " Using iptables Proxier.")
		default:
			l.Class = ClassJSON
			l.Text = fmt.Appendf(nil, `{"id":"%s","nested":{"a":[1,2,{"b":null}],"t":true},"f":1.5e3,"s":"x\"y\\z\u00e9"}`, id)
		}
		out = append(out, l)
	}
	return out
}

func fnvSeed(s string) uint64 {
	v, _ := strconv.ParseUint(fnvHash(s)[:16], 16, 64)
	return v
}

func fill(b []byte, n int, c byte) []byte {
	for len(b) < n {
		b = append(b, c)
	}
	return b
}

// appendLine frames l as the runtime writes it: CRI
// ("<RFC3339Nano> <stream> <P|F> <text>\n", pieces of partialPiece bytes
// tagged P; github.com/containerd/containerd v1.7 pkg/cri/io/logger.go) or
// docker json-file ({"log":…,"stream":…,"time":…}, a piece without its
// trailing "\n" for each 16 KiB buffer; github.com/moby/moby v24
// daemon/logger/jsonfilelog).
func appendLine(b []byte, c *Container, l Line) []byte {
	pieces := [][]byte{l.Text}
	if l.Class == ClassPartial {
		pieces = nil
		for t := l.Text; len(t) > 0; {
			n := min(partialPiece, len(t))
			pieces = append(pieces, t[:n])
			t = t[n:]
		}
	}
	for i, p := range pieces {
		last := i == len(pieces)-1
		if c.Docker {
			s := string(p)
			if last {
				s += "\n"
			}
			enc, _ := json.Marshal(struct {
				Log    string `json:"log"`
				Stream string `json:"stream"`
				Time   string `json:"time"`
			}{s, l.Stream, l.Time.Format(time.RFC3339Nano)})
			b = append(append(b, enc...), '\n')
			continue
		}
		b = l.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, ' ')
		b = append(b, l.Stream...)
		if last {
			b = append(b, " F "...)
		} else {
			b = append(b, " P "...)
		}
		b = append(append(b, p...), '\n')
	}
	return b
}

// NodeLogs generates n records for each node log the v1.19 image tails
// from the end: kubelet glog (with a continuation line now and then),
// etcd (format none), the apiserver audit log (multi-line) and the docker
// daemon log (logfmt-like regexp). Each file gets one line before the agent
// starts (never shipped); appends hold the rest. Paths are under /var/log.
// Without audit the audit log is left out (the v0.12-era images have no
// such source).
func (g *Gen) NodeLogs(n int, audit bool) (lines []Line, initial, appends map[string][]byte) {
	initial, appends = map[string][]byte{}, map[string][]byte{}
	r := rand.New(rand.NewPCG(g.Seed, 77))
	add := func(path string, b []byte) { appends[path] = append(appends[path], b...) }
	for _, p := range []string{"kubelet.log", "etcd.log", "kubernetes/kube-apiserver-audit.log", "docker.log"} {
		if audit || p != "kubernetes/kube-apiserver-audit.log" {
			initial["/var/log/"+p] = []byte("old line, before the agent started\n")
		}
	}
	for i := range n {
		g.seq++
		id := fmt.Sprintf("L%06d", g.seq)
		ns := int64(g.seq)*int64(2*time.Millisecond) + 1 + r.Int64N(int64(time.Millisecond))
		ts := g.Start.Add(time.Duration(ns)).UTC()
		lines = append(lines, Line{ID: id, Class: ClassGlogLine, Time: ts})
		kind := i % 4
		if kind == 2 && !audit {
			kind = 0
		}
		switch kind {
		case 0:
			sev := "IWEF"[r.IntN(4)]
			b := fmt.Appendf(nil, "%c%s    4242 kubelet.go:%d] %s SyncLoop (ADD, \"api\"): \"web-7d9f\" é\n", sev, ts.Format("0102 15:04:05.000000"), 1000+r.IntN(999), id)
			if r.IntN(5) == 0 {
				b = append(b, "  continuation of the same record\n"...)
			}
			add("/var/log/kubelet.log", b)
		case 1:
			add("/var/log/etcd.log", fmt.Appendf(nil, "%s etcdserver: apply entries took too long [%dms] \"quoted\" \\ back\n", id, r.IntN(900)))
		case 2:
			add("/var/log/kubernetes/kube-apiserver-audit.log", fmt.Appendf(nil,
				"%s AUDIT: id=\"%s\" ip=\"104.132.1.%d\" method=\"GET\" user=\"kubecfg\" as=\"<self>\" asgroups=\"<lookup>\" namespace=\"default\" uri=\"/api/v1/namespaces/default/pods\"\n%s AUDIT: id=\"%s\" response=\"200\"\n",
				ts.Format("2006-01-02T15:04:05.000Z"), id, r.IntN(255), ts.Add(time.Millisecond).Format("2006-01-02T15:04:05.000Z"), id))
		case 3:
			add("/var/log/docker.log", fmt.Appendf(nil, "time=\"%s\" level=info msg=\"%s container started\" statusCode=%d\n", ts.Format(time.RFC3339Nano), id, 200+r.IntN(300)))
		}
	}
	return lines, initial, appends
}
