"""The SageMaker Linear Learner artifact (model.tar.gz) reader/writer, shared by serving and training."""
