package emulator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

func TestTLS_SelfSignedHTTPS(t *testing.T) {
	tlsCfg, err := emulator.SelfSignedTLS("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emulator.New(emulator.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := emulatortest.Run(t, srv, tls.NewListener(ln, tlsCfg))
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	pool := x509.NewCertPool()
	pool.AddCert(tlsCfg.Certificates[0].Leaf)
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AK", "SK", ""),
		BaseEndpoint: aws.String("https://" + ln.Addr().String()),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	if _, err := client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatalf("CreateLogGroup over HTTPS: %v", err)
	}
	// A client that verifies against the system roots must refuse it.
	strict := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""),
		BaseEndpoint: aws.String("https://" + ln.Addr().String()), Retryer: aws.NopRetryer{},
	})
	if _, err := strict.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("h")}); err == nil {
		t.Error("a verifying client accepted the self-signed certificate")
	}
}
