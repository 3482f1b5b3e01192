package io.maas.inference.domain;

/** Where a model runs. AUTO follows the service default (MAAS_DEVICE). */
public enum Device {
    AUTO, CPU, CUDA
}
