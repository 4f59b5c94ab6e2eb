package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// bulkResponse is the outcome of one _bulk request: the HTTP status, and for
// a 2xx answer the status of each item in request order.
type bulkResponse struct {
	status int
	items  []itemStatus
}

// itemStatus is one item's outcome in a _bulk response.
type itemStatus struct {
	status int
	reason string // error type and reason when status >= 300
}

// bulker sends one NDJSON _bulk body. An error means the request got no
// HTTP answer (connection, TLS, timeout) or the answer could not be read;
// an HTTP error status is reported in bulkResponse.status with a nil error.
type bulker interface {
	Bulk(ctx context.Context, body []byte) (bulkResponse, error)
}

// openSearchBulker sends _bulk requests with the opensearch-go client (which
// signs them with SigV4 when its Signer is set).
type openSearchBulker struct {
	client *opensearchapi.Client
}

var _ bulker = (*openSearchBulker)(nil)

// Bulk POSTs body to /_bulk.
func (o *openSearchBulker) Bulk(ctx context.Context, body []byte) (bulkResponse, error) {
	resp, err := o.client.Bulk(ctx, opensearchapi.BulkReq{
		Body:   bytes.NewReader(body),
		Header: http.Header{"Content-Type": []string{"application/x-ndjson"}},
	})
	var status int
	if resp != nil {
		if r := resp.Inspect().Response; r != nil {
			status = r.StatusCode
		}
	}
	if status == 0 {
		if err == nil {
			err = errors.New("no response")
		}
		return bulkResponse{}, fmt.Errorf("bulk: %w", err)
	}
	out := bulkResponse{status: status}
	if status >= 300 {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("bulk response: %w", err)
	}
	out.items = make([]itemStatus, 0, len(resp.Items))
	for _, m := range resp.Items {
		var st itemStatus
		for _, it := range m { // one action key per item ("index")
			st.status = it.Status
			if it.Error != nil {
				st.reason = it.Error.Type + ": " + it.Error.Reason
			}
		}
		out.items = append(out.items, st)
	}
	return out, nil
}

// retryable reports whether an HTTP status (of a whole request or of one
// item) is worth retrying: throttling and server-side failures.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}
