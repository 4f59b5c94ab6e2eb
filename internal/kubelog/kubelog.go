// Package kubelog writes container log files laid out as the kubelet lays
// them out, in the CRI or docker json-file format, for the demo, the
// benchmark and end-to-end tests.
package kubelog

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Node writes container log files laid out as the kubelet lays them out
// (/var/log/pods/<ns>_<pod>_<uid>/<ctr>/0.log plus the /var/log/containers
// symlinks).
type Node struct {
	// Root stands for /var/log: pods/ and containers/ are created under it.
	Root string
	// Start is the timestamp of the first line; lines are 1 ms apart.
	Start time.Time
	seq   int
}

// Container is one generated container log.
type Container struct {
	Namespace, Pod, UID, Name, ID string
	// Docker writes the docker json-file format instead of CRI.
	Docker bool
	// Real is the /var/log/pods file, Link the /var/log/containers symlink.
	Real, Link string
	Lines      int // lines written so far
}

// AddContainer creates the directories and the symlink of a container.
func (k *Node) AddContainer(ns, pod, name string, docker bool) (*Container, error) {
	sum := sha256.Sum256([]byte(ns + "/" + pod + "/" + name))
	id := hex.EncodeToString(sum[:])
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", id[0:8], id[8:12], id[12:16], id[16:20], id[20:32])
	return k.AddContainerUID(ns, pod, uid, name, docker)
}

// AddContainerUID is AddContainer for a pod whose UID is known (a pod created
// in a real API server).
func (k *Node) AddContainerUID(ns, pod, uid, name string, docker bool) (*Container, error) {
	sum := sha256.Sum256([]byte(ns + "/" + pod + "/" + uid + "/" + name))
	id := hex.EncodeToString(sum[:])
	c := &Container{Namespace: ns, Pod: pod, UID: uid, Name: name, ID: id, Docker: docker}
	dir := filepath.Join(k.Root, "pods", ns+"_"+pod+"_"+uid, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(k.Root, "containers"), 0o755); err != nil {
		return nil, err
	}
	c.Real = filepath.Join(dir, "0.log")
	c.Link = filepath.Join(k.Root, "containers", pod+"_"+ns+"_"+name+"-"+id+".log")
	if err := os.Symlink(c.Real, c.Link); err != nil && !os.IsExist(err) {
		return nil, err
	}
	return c, nil
}

// AppLine appends the n-th application line of a container: a JSON log line
// of about size bytes, every fifth one with escaped quotes.
func AppLine(buf []byte, c *Container, n, size int) []byte {
	buf = append(buf, `{"level":"info","logger":"http","msg":"request served","seq":`...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, `,"container":"`...)
	buf = append(buf, c.Name...)
	buf = append(buf, `","path":"/api/v1/items/`...)
	buf = strconv.AppendInt(buf, int64(n%997), 10)
	buf = append(buf, `","status":200`...)
	if n%5 == 0 {
		buf = append(buf, `,"user_agent":"curl/8.5 \"quoted\""`...)
	}
	buf = append(buf, `,"pad":"`...)
	for len(buf) < size-2 {
		buf = append(buf, 'x')
	}
	return append(buf, `"}`...)
}

// Write appends n lines of about size bytes to c's current file, returning
// the number of bytes written.
func (k *Node) Write(c *Container, n, size int) (int64, error) {
	f, err := os.OpenFile(c.Real, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var total int64
	line := make([]byte, 0, size+128)
	rec := make([]byte, 0, size+256)
	for i := 0; i < n; i++ {
		c.Lines++
		k.seq++
		ts := k.Start.Add(time.Duration(k.seq) * time.Millisecond).UTC()
		line = AppLine(line[:0], c, c.Lines, size)
		rec = rec[:0]
		if c.Docker {
			rec = append(rec, `{"log":"`...)
			rec = appendJSONEscaped(rec, line)
			rec = append(rec, `\n","stream":"stdout","time":"`...)
			rec = ts.AppendFormat(rec, time.RFC3339Nano)
			rec = append(rec, "\"}\n"...)
		} else {
			rec = ts.AppendFormat(rec, time.RFC3339Nano)
			rec = append(rec, " stdout F "...)
			rec = append(rec, line...)
			rec = append(rec, '\n')
		}
		if _, err := w.Write(rec); err != nil {
			f.Close()
			return total, err
		}
		total += int64(len(rec))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return total, err
	}
	return total, f.Close()
}

// Rotate renames c's file as the kubelet does (0.log → 0.log.<YYYYMMDD-hhmmss>);
// the next write creates a new 0.log.
func (k *Node) Rotate(c *Container, at time.Time) error {
	return os.Rename(c.Real, c.Real+"."+at.UTC().Format("20060102-150405"))
}

func appendJSONEscaped(dst, s []byte) []byte {
	for _, b := range s {
		switch b {
		case '"', '\\':
			dst = append(dst, '\\', b)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}
