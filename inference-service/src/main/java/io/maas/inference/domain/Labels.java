package io.maas.inference.domain;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * A labels file: one class label per line, line i names class i (Triton's label_filename format).
 * Anything after a tab is a description (zero-shot classifiers embed it), not part of the label.
 */
public final class Labels {
    private Labels() {
    }

    /** @throws InferenceException UNAVAILABLE naming the file when it is missing, unreadable or empty */
    public static List<String> read(Path file, String usedBy) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                    .map(l -> (l.indexOf('\t') >= 0 ? l.substring(0, l.indexOf('\t')) : l).strip()).toList();
            int end = lines.size();
            while (end > 0 && lines.get(end - 1).isEmpty()) {
                end--;
            }
            if (end == 0) {
                throw InferenceException.unavailable("labels file " + file + " of " + usedBy + " is empty");
            }
            return List.copyOf(lines.subList(0, end));
        } catch (NoSuchFileException e) {
            throw InferenceException.unavailable("labels file " + file + " of " + usedBy + " does not exist");
        } catch (IOException e) {
            throw InferenceException.unavailable("labels file " + file + " of " + usedBy + " cannot be read: "
                    + e.getMessage());
        }
    }
}
