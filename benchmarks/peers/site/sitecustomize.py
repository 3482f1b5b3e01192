# Loaded by Python at start in the peers' processes only (run.sh puts this folder on their PYTHONPATH),
# so the ModelConfig handler is in place before the peer creates its gRPC server.
import model_config_shim

model_config_shim.install()
