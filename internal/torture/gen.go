package torture

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Format is the on-disk format of a container log.
type Format int

const (
	// CRI is the CRI log format of containerd and CRI-O.
	CRI Format = iota
	// Docker is docker's json-file format.
	Docker
)

// Rotation is how the generator rotates a container's log.
type Rotation int

const (
	// NoRotation never rotates.
	NoRotation Rotation = iota
	// Kubelet renames 0.log to 0.log.<timestamp>, writes late lines into
	// the renamed file, reopens 0.log, gzips older rotated files and keeps
	// at most MaxFiles files.
	Kubelet
	// CopyTruncate copies the log to a dated name and truncates it in place.
	CopyTruncate
)

// Defaults of GenConfig.
const (
	// DefaultPieceSize is the runtimes' split size (16 KiB): containerd
	// writes longer lines as P pieces, dockerd as pieces without "\n".
	DefaultPieceSize = 16 << 10
	// DefaultMaxFiles is the kubelet's containerLogMaxFiles default.
	DefaultMaxFiles = 5
	// kubeletTimeFormat is the suffix of a rotated log
	// (pkg/kubelet/logs/container_log_manager.go, timestampFormat).
	kubeletTimeFormat = "20060102-150405"
)

// GenConfig configures a Generator.
type GenConfig struct {
	// Root stands for the node's "/": var/log/pods, var/log/containers and
	// var/lib/docker/containers are created under it.
	Root string
	// Containers is the number of containers (at least 1).
	Containers int
	// Format of every container's log.
	Format Format
	// LineSize is the payload size of a line in bytes (at least
	// MinPayload); lines over PieceSize are written in pieces.
	LineSize int
	// Rate is the total lines per second Run writes across all containers.
	Rate int
	// Rotation, RotateBytes (size of the live file that triggers it; zero
	// means never), MaxFiles (files kept including the live one; zero means
	// DefaultMaxFiles), LateWrites (lines written into a file after the
	// kubelet renamed it) and CopyWindow (lines written between a
	// copytruncate's copy and its truncation; they are on no disk).
	Rotation    Rotation
	RotateBytes int64
	MaxFiles    int
	LateWrites  int
	CopyWindow  int
	// PieceSize is the split size of long lines; zero means DefaultPieceSize.
	PieceSize int
	// LongEvery and LongSize, when both positive, make every LongEvery-th
	// line of a container LongSize bytes long (mixed sizes; long ones are
	// written in pieces when over PieceSize).
	LongEvery, LongSize int
	// Now is the clock of line timestamps; nil means time.Now.
	Now func() time.Time
}

// Container is one generated container.
type Container struct {
	// Name is the container name carried in every payload ("c007").
	Name string
	// Namespace, Pod, UID and ID name it the kubelet's way.
	Namespace, Pod, UID, ID string
	// Path is the file the runtime writes; Link the /var/log/containers
	// symlink.
	Path, Link string

	f        *os.File
	size     int64 // bytes in the live file
	seq      int
	lastTime int64
	rotated  []string // rotated files, oldest first
}

// Generator writes container logs and records every line in its Ledger.
// Its methods are not safe for concurrent use; the Ledger is.
type Generator struct {
	cfg    GenConfig
	ledger *Ledger
	ctrs   []*Container
	buf    []byte
	pay    []byte
	// Rotations counts rotations done.
	Rotations int
}

// NewGenerator checks cfg and returns a generator; Open creates the files.
func NewGenerator(cfg GenConfig) (*Generator, error) {
	if cfg.Root == "" || cfg.Containers < 1 {
		return nil, errors.New("torture: GenConfig needs Root and at least one container")
	}
	if cfg.LineSize < MinPayload {
		cfg.LineSize = MinPayload
	}
	if cfg.PieceSize <= 0 {
		cfg.PieceSize = DefaultPieceSize
	}
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Generator{cfg: cfg, ledger: NewLedger()}, nil
}

// Ledger returns the record of what was written.
func (g *Generator) Ledger() *Ledger { return g.ledger }

// Containers returns the containers (after Open).
func (g *Generator) Containers() []*Container { return g.ctrs }

// ContainersGlob is the glob of the /var/log/containers symlinks.
func (g *Generator) ContainersGlob() string {
	return filepath.Join(g.cfg.Root, "var", "log", "containers", "*.log")
}

// PodsGlob is the glob of the kubelet's live files and their rotations.
func (g *Generator) PodsGlob() string {
	return filepath.Join(g.cfg.Root, "var", "log", "pods", "*", "*", "0.log*")
}

// Open creates the directories, files and symlinks of every container.
func (g *Generator) Open() error {
	root := g.cfg.Root
	links := filepath.Join(root, "var", "log", "containers")
	if err := os.MkdirAll(links, 0o755); err != nil {
		return err
	}
	for i := 0; i < g.cfg.Containers; i++ {
		name := fmt.Sprintf("c%03d", i)
		ns := []string{"default", "shop", "payments", "kube-system"}[i%4]
		pod := fmt.Sprintf("torture-%03d-6b7f9", i)
		sum := sha256.Sum256([]byte(ns + "/" + pod + "/" + name))
		id := hex.EncodeToString(sum[:])
		uid := fmt.Sprintf("%s-%s-%s-%s-%s", id[0:8], id[8:12], id[12:16], id[16:20], id[20:32])
		c := &Container{Name: name, Namespace: ns, Pod: pod, UID: uid, ID: id}
		podDir := filepath.Join(root, "var", "log", "pods", ns+"_"+pod+"_"+uid, name)
		if err := os.MkdirAll(podDir, 0o755); err != nil {
			return err
		}
		c.Path = filepath.Join(podDir, "0.log")
		if g.cfg.Format == Docker {
			dir := filepath.Join(root, "var", "lib", "docker", "containers", id)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			c.Path = filepath.Join(dir, id+"-json.log")
			if err := os.Symlink(c.Path, filepath.Join(podDir, "0.log")); err != nil {
				return err
			}
		}
		c.Link = filepath.Join(links, pod+"_"+ns+"_"+name+"-"+id+".log")
		if err := os.Symlink(c.Path, c.Link); err != nil {
			return err
		}
		f, err := os.OpenFile(c.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		c.f = f
		g.ctrs = append(g.ctrs, c)
	}
	return nil
}

// Close closes the files.
func (g *Generator) Close() error {
	var errs []error
	for _, c := range g.ctrs {
		if c.f != nil {
			errs = append(errs, c.f.Close())
			c.f = nil
		}
	}
	return errors.Join(errs...)
}

// Run writes Rate lines per second, spread over the containers, in batches
// every 10 ms, until ctx ends or d has passed. It returns the lines written.
func (g *Generator) Run(ctx context.Context, d time.Duration) (int, error) {
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	sent, next := 0, 0
	for {
		el := time.Since(start)
		if el >= d {
			return sent, nil
		}
		due := int(float64(g.cfg.Rate)*el.Seconds()) - sent
		for due > 0 {
			// One batch per container, round robin from where we stopped.
			per := max(1, due/len(g.ctrs))
			for k := 0; k < len(g.ctrs) && due > 0; k++ {
				c := g.ctrs[next]
				next = (next + 1) % len(g.ctrs)
				n := min(per, due)
				if err := g.write(c, n); err != nil {
					return sent, err
				}
				sent += n
				due -= n
			}
		}
		select {
		case <-ctx.Done():
			return sent, nil
		case <-tick.C:
		}
	}
}

// WriteEach writes n lines to every container at once.
func (g *Generator) WriteEach(n int) error {
	for _, c := range g.ctrs {
		if err := g.write(c, n); err != nil {
			return err
		}
	}
	return nil
}

// write appends n lines to c, rotating first when the live file is full.
func (g *Generator) write(c *Container, n int) error {
	for n > 0 {
		if g.cfg.RotateBytes > 0 && c.size >= g.cfg.RotateBytes && g.cfg.Rotation != NoRotation {
			if err := g.rotate(c); err != nil {
				return err
			}
		}
		k := n
		if g.cfg.RotateBytes > 0 {
			// Stop a batch at the rotation size (lines are about LineSize).
			room := int((g.cfg.RotateBytes - c.size) / int64(g.cfg.LineSize+40))
			k = min(n, max(1, room))
		}
		if err := g.writeTo(c, c.f, k, false); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// writeTo appends n lines of c to f and records them (lost: on no disk).
func (g *Generator) writeTo(c *Container, f *os.File, n int, lost bool) error {
	g.buf = g.buf[:0]
	first := c.seq
	times := make([]int64, n)
	sizes := make([]int, n)
	for i := 0; i < n; i++ {
		t := g.cfg.Now().UnixNano()
		if t <= c.lastTime {
			t = c.lastTime + 1000
		}
		c.lastTime = t
		times[i] = t
		sizes[i] = g.lineSize(c.seq)
		g.pay = AppendPayload(g.pay[:0], c.Name, c.seq, sizes[i])
		g.buf = g.appendLine(g.buf, t, g.pay)
		c.seq++
	}
	w, err := f.Write(g.buf)
	c.size += int64(w)
	if err != nil {
		c.seq = first // nothing recorded; the caller stops
		return fmt.Errorf("write %s: %w", c.Path, err)
	}
	for i := 0; i < n; i++ {
		g.ledger.Add(c.Name, Written{Time: times[i], Size: sizes[i], Lost: lost})
	}
	return nil
}

// lineSize is the payload size of line seq.
func (g *Generator) lineSize(seq int) int {
	if g.cfg.LongEvery > 0 && g.cfg.LongSize > 0 && seq%g.cfg.LongEvery == g.cfg.LongEvery-1 {
		return max(g.cfg.LongSize, MinPayload)
	}
	return g.cfg.LineSize
}

// appendLine appends one logical line in the configured format, in pieces
// when it is longer than PieceSize.
func (g *Generator) appendLine(b []byte, t int64, text []byte) []byte {
	ts := time.Unix(0, t).UTC().Format("2006-01-02T15:04:05.000000000Z")
	ps := g.cfg.PieceSize
	for len(text) > 0 {
		piece := text
		last := true
		if len(piece) > ps {
			piece, last = piece[:ps], false
		}
		text = text[len(piece):]
		switch g.cfg.Format {
		case Docker:
			b = append(b, `{"log":"`...)
			b = append(b, piece...) // payload characters need no JSON escaping
			if last {
				b = append(b, `\n`...)
			}
			b = append(b, `","stream":"stdout","time":"`...)
			b = append(b, ts...)
			b = append(b, "\"}\n"...)
		default:
			b = append(b, ts...)
			b = append(b, " stdout "...)
			if last {
				b = append(b, "F "...)
			} else {
				b = append(b, "P "...)
			}
			b = append(b, piece...)
			b = append(b, '\n')
		}
	}
	return b
}

// rotatedName returns a free dated name next to c.Path.
func (g *Generator) rotatedName(c *Container) string {
	t := g.cfg.Now()
	for {
		name := c.Path + "." + t.UTC().Format(kubeletTimeFormat)
		if _, err := os.Lstat(name); os.IsNotExist(err) {
			if _, err := os.Lstat(name + ".gz"); os.IsNotExist(err) {
				return name
			}
		}
		t = t.Add(time.Second)
	}
}

func (g *Generator) rotate(c *Container) error {
	g.Rotations++
	switch g.cfg.Rotation {
	case Kubelet:
		return g.rotateKubelet(c)
	case CopyTruncate:
		return g.copyTruncate(c)
	}
	return nil
}

// rotateKubelet renames the live file, writes LateWrites lines into the
// renamed file through the runtime's still-open descriptor, reopens the live
// file, gzips every rotated file but the newest and removes the oldest
// beyond MaxFiles.
func (g *Generator) rotateKubelet(c *Container) error {
	name := g.rotatedName(c)
	if err := os.Rename(c.Path, name); err != nil {
		return err
	}
	if g.cfg.LateWrites > 0 {
		if err := g.writeTo(c, c.f, g.cfg.LateWrites, false); err != nil {
			return err
		}
	}
	if err := c.f.Close(); err != nil {
		return err
	}
	f, err := os.OpenFile(c.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	c.f, c.size = f, 0
	for i, r := range c.rotated {
		if strings.HasSuffix(r, ".gz") {
			continue
		}
		gz, err := gzipFile(r)
		if err != nil {
			return err
		}
		c.rotated[i] = gz
	}
	c.rotated = append(c.rotated, name)
	return g.prune(c)
}

// copyTruncate copies the live file to a dated name, writes CopyWindow lines
// (lost: not in the copy, and truncated away), then truncates in place.
func (g *Generator) copyTruncate(c *Container) error {
	name := g.rotatedName(c)
	if err := copyFile(c.Path, name); err != nil {
		return err
	}
	if g.cfg.CopyWindow > 0 {
		if err := g.writeTo(c, c.f, g.cfg.CopyWindow, true); err != nil {
			return err
		}
	}
	if err := os.Truncate(c.Path, 0); err != nil {
		return err
	}
	c.size = 0
	c.rotated = append(c.rotated, name)
	return g.prune(c)
}

// prune removes the oldest rotated files beyond MaxFiles-1.
func (g *Generator) prune(c *Container) error {
	for len(c.rotated) > g.cfg.MaxFiles-1 {
		if err := os.Remove(c.rotated[0]); err != nil && !os.IsNotExist(err) {
			return err
		}
		c.rotated = c.rotated[1:]
	}
	return nil
}

func gzipFile(path string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(path + ".gz")
	if err != nil {
		return "", err
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return "", err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return path + ".gz", os.Remove(path)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Files lists the files under Root's pods and docker directories (for
// debugging a scenario).
func (g *Generator) Files() []string {
	var out []string
	_ = filepath.Walk(g.cfg.Root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
