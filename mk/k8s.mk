# A real single-node Kubernetes started by the project, its data under .local/k8s. Included by
# the Makefile:  make k8s-bins k8s-tools k8s-up k8s-down k8s-test
#
#   k8s-bins   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy,
#              kubectl (v1.34.3) and CoreDNS built with `go build` from the Go module proxy into
#              .local/tools/k8s, plus the sandbox's pause from the same release's source. Go's
#              own caches; about 6 minutes of both cores the first time (niced), a minute's
#              linking in another checkout, nothing the next time in the same one.
#   k8s-tools  containerd, runc, the CNI plugins, etcd, iptables and conntrack from Debian,
#              installed on the system with apt-get (the README says why).
#   k8s-up     certificates, kubeconfigs, etcd, the control plane, containerd, kubelet,
#              kube-proxy, CoreDNS; the pause, CoreDNS and project images imported. Idempotent.
#   k8s-down   stops it all and removes what it left outside .local/k8s.
#   k8s-test   the development images' tests, then the cluster tests (tests/k8s, marker k8s;
#              neither is part of make test): the image in a pod, the development PostgreSQL and
#              Kafka, the chart installed with its provisioning Job, helm test, motcua-deploy
#              verify, a broken upgrade rolled back, uninstalled; then day two under load (a
#              rolling upgrade, each pod deleted, dossiers at two replicas). Always ends with
#              k8s-down, passed or not.

K8S_BINS := .local/tools/k8s
K8S_DEBS := containerd runc containernetworking-plugins etcd-server etcd-client iptables conntrack

.PHONY: k8s-bins k8s-tools k8s-up k8s-down k8s-test

k8s-bins: ## the Kubernetes binaries and CoreDNS, built from the Go module proxy into .local/tools/k8s
	bash infra/k8s/build-bins.sh $(K8S_BINS)

k8s-tools: ## containerd, runc, CNI plugins, etcd, iptables, conntrack from Debian (apt-get install, root)
	@if [ "$$(id -u)" != 0 ]; then echo "k8s-tools: apt-get install needs root" >&2; exit 1; fi
	@dpkg -s $(K8S_DEBS) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(K8S_DEBS); }

k8s-up: k8s-bins k8s-tools image dev-images ## start the single-node cluster (data under .local/k8s) and import the images
	bash infra/k8s/up.sh

k8s-down: ## stop the cluster and clean the paths, iptables chains and sysctls it changed
	bash infra/k8s/down.sh

k8s-test: k8s-bins k8s-tools image dev-images helm ## the cluster tests: start a cluster, run the project's image in it, tear it down
	$(UV) run pytest tests/image/test_dev_images.py $(PYTEST_ARGS)
	@# -s: the tests print their figures (times, the loads' counts). The cluster fixture stops the
	@# cluster after the tests; down.sh again whatever happened (pytest killed, a fixture's failure).
	@started=$$(date +%s); status=0; \
	$(UV) run pytest tests/k8s -m k8s -s $(PYTEST_ARGS) || status=$$?; \
	bash infra/k8s/down.sh >/dev/null 2>&1 || { echo "k8s-test: make k8s-down failed" >&2; status=1; }; \
	echo "k8s-test: the cluster tests took $$(( $$(date +%s) - started ))s (exit $$status)"; exit $$status
