package io.maas.inference.api;

import java.util.Arrays;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.maas.inference.adapters.config.PbtxtModelConfigReader;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelRepository;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.ModelVersion;
import io.maas.inference.domain.PipelineStep;
import io.maas.inference.domain.ServedModel;
import io.maas.inference.domain.TensorSpec;
import io.maas.inference.domain.VersionPolicy;
import io.maas.proto.inference.ModelConfig;
import io.maas.proto.inference.ModelDynamicBatching;
import io.maas.proto.inference.ModelInput;
import io.maas.proto.inference.ModelInstanceGroup;
import io.maas.proto.inference.ModelMetadataResponse;
import io.maas.proto.inference.ModelOutput;
import io.maas.proto.inference.ModelParameter;
import io.maas.proto.inference.ModelQueuePolicy;
import io.maas.proto.inference.ModelVersionPolicy;
import io.maas.proto.inference.RepositoryIndexResponse;

/** Describes served models (metadata, config, repository index) for both frontends. */
@Singleton
public class ModelCatalog {
    @Inject
    ModelRepository repository;

    public ModelMetadataResponse metadata(String name, String version) {
        ModelVersion v = repository.resolve(name, version);
        ServedModel model = repository.model(name).orElseThrow();
        ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder().setName(name)
                .setPlatform(model.settings().platform());
        model.versions().values().stream().filter(ModelVersion::isReady).forEach(r -> b.addVersions(r.versionLabel()));
        v.runner().inputs().forEach(t -> b.addInputs(tensor(t)));
        v.runner().outputs().forEach(t -> b.addOutputs(tensor(t)));
        return b.build();
    }

    public boolean ready(String name, String version) {
        try {
            return repository.resolve(name, version).isReady();
        } catch (InferenceException e) {
            return false;
        }
    }

    /** The effective configuration in Triton's ModelConfig form (what perf_analyzer reads). */
    public ModelConfig config(String name, String version) {
        ModelVersion v = repository.resolve(name, version);
        ModelSettings s = repository.model(name).orElseThrow().settings();
        ModelConfig.Builder b = ModelConfig.newBuilder().setName(name).setMaxBatchSize(s.maxBatchSize());
        if (s.platform().equals(ModelSettings.ONNX)) {
            b.setPlatform(ModelSettings.ONNX).setBackend("onnxruntime").setDefaultModelFilename(s.modelFilename());
        } else if (s.isEnsemble()) {
            b.setPlatform(ModelSettings.ENSEMBLE);
            for (PipelineStep step : s.steps()) {
                b.getEnsembleSchedulingBuilder().addStepBuilder().setModelName(step.modelName())
                        .setModelVersion(step.modelVersion()).putAllInputMap(step.inputMap())
                        .putAllOutputMap(step.outputMap());
            }
        } else {
            b.setBackend(s.platform()).setDefaultModelFilename(s.modelFilename());
        }
        s.parameters().forEach((k, val) -> b.putParameters(k, ModelParameter.newBuilder().setStringValue(val).build()));
        for (TensorSpec t : v.runner().inputs()) {
            b.addInput(ModelInput.newBuilder().setName(t.name())
                    .setDataType(PbtxtModelConfigReader.dataType(t.datatype()))
                    .addAllDims(Arrays.stream(dims(t, s)).boxed().toList())
                    .setAllowRaggedBatch(s.raggedInputs().contains(t.name())));
        }
        for (TensorSpec t : v.runner().outputs()) {
            b.addOutput(ModelOutput.newBuilder().setName(t.name())
                    .setDataType(PbtxtModelConfigReader.dataType(t.datatype()))
                    .addAllDims(Arrays.stream(dims(t, s)).boxed().toList())
                    .setLabelFilename(s.labelFiles().getOrDefault(t.name(), "")));
        }
        if (s.batchingEnabled() && !s.isEnsemble()) {
            b.setDynamicBatching(ModelDynamicBatching.newBuilder()
                    .setMaxQueueDelayMicroseconds(s.maxQueueDelayMicros())
                    .setDefaultQueuePolicy(ModelQueuePolicy.newBuilder().setMaxQueueSize(s.maxQueueSize())));
        }
        if (!s.isEnsemble()) {
            b.addInstanceGroup(ModelInstanceGroup.newBuilder().setCount(s.instanceCount())
                .setKind(v.runner().executionProvider().startsWith("CUDA") ? ModelInstanceGroup.Kind.KIND_GPU
                        : ModelInstanceGroup.Kind.KIND_CPU));
        }
        ModelVersionPolicy.Builder policy = ModelVersionPolicy.newBuilder();
        if (s.versionPolicy() instanceof VersionPolicy.Latest l) {
            policy.setLatest(ModelVersionPolicy.Latest.newBuilder().setNumVersions(l.count()));
        } else if (s.versionPolicy() instanceof VersionPolicy.Specific sp) {
            policy.setSpecific(ModelVersionPolicy.Specific.newBuilder()
                    .addAllVersions(sp.versions().stream().sorted().toList()));
        } else {
            policy.setAll(ModelVersionPolicy.All.getDefaultInstance());
        }
        return b.setVersionPolicy(policy).build();
    }

    /** Every model folder on disk with the state of each loaded version. */
    public RepositoryIndexResponse index(boolean readyOnly) {
        RepositoryIndexResponse.Builder b = RepositoryIndexResponse.newBuilder();
        for (String folder : repository.folders()) {
            ServedModel model = repository.model(folder).orElse(null);
            if (model == null) {
                if (!readyOnly) {
                    b.addModelsBuilder().setName(folder).setState("UNAVAILABLE").setReason("unloaded");
                }
                continue;
            }
            if (model.versions().isEmpty() && !readyOnly) {
                b.addModelsBuilder().setName(folder).setState("UNAVAILABLE").setReason(model.reason());
            }
            for (ModelVersion v : model.versions().values()) {
                if (!readyOnly || v.isReady()) {
                    b.addModelsBuilder().setName(folder).setVersion(v.versionLabel()).setState(v.state().name())
                            .setReason(v.reason());
                }
            }
        }
        return b.build();
    }

    private static ModelMetadataResponse.TensorMetadata tensor(TensorSpec t) {
        return ModelMetadataResponse.TensorMetadata.newBuilder().setName(t.name()).setDatatype(t.datatype().name())
                .addAllShape(Arrays.stream(t.shape()).boxed().toList()).build();
    }

    /** Triton's config dims leave out the batch dimension when the model batches. */
    private static long[] dims(TensorSpec t, ModelSettings s) {
        return s.maxBatchSize() > 0 && t.shape().length > 0 ? Arrays.copyOfRange(t.shape(), 1, t.shape().length)
                : t.shape();
    }
}
