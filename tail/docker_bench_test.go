package tail

import "testing"

// BenchmarkParseDocker measures one docker json-file line, decoded in place:
// a plain one and one carrying escaped JSON.
func BenchmarkParseDocker(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"plain", `{"log":"2024-05-01T10:00:00Z INFO request served path=/api/v1/items status=200 took=12ms\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}`},
		{"escaped", `{"log":"{\"level\":\"info\",\"msg\":\"request served\",\"path\":\"/api/v1/items\",\"status\":200,\"ua\":\"curl/8.0 \\u00e9\"}\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, len(tc.line))
			b.SetBytes(int64(len(tc.line)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				copy(buf, tc.line)
				if r := parseDocker(buf); r.bad {
					b.Fatal("bad line")
				}
			}
		})
	}
}
