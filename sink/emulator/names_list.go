package emulator

import "sort"

// StreamNames returns the names of the log streams of a group, sorted (nil
// for a missing group). Together with Events it lets a test read back
// everything a group received without paging through GetLogEvents.
func (s *Server) StreamNames(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[group]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(g.streams))
	for name := range g.streams {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
